# Pip-only workflow (no ROS install needed). On a real ROS 2 machine use colcon instead (README).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.scalehp-env.stamp
MODEL  := models/hand_landmarker.task
RUN    := tools/run_isolated.sh
PYTEST_ARGS ?=

.PHONY: test test-fast demo venv model lint bench constraints clean

# Re-run setup only when what it installs changed; a warm `make test` skips straight to the tests.
$(STAMP): constraints.txt requirements.txt setup.py setup.cfg tools/setup_env.sh tools/build_interfaces.sh \
          tools/tf2_msgs/msg/TFMessage.msg tools/tf2_msgs/CMakeLists.txt scalehp_ros/perception/model_bundle.py
	VENV=$(VENV) bash tools/setup_env.sh
	touch $@

venv: $(STAMP)

# Test tooling only: the real `ros2 launch`, `ros2` CLI (topic, lifecycle, ...), colcon and tf2_ros, built from
# ../shared/vendor/ros2 into build/ros2_tooling (never the venv) when that folder exists; without it those tests
# skip with the reason. Rebuilt when the script, its inputs or the vendored sources' README (their commits) change.
ROS2_VENDOR ?= ../shared/vendor/ros2
TOOLING := build/ros2_tooling/.ready
ifneq ($(wildcard $(ROS2_VENDOR)),)
TEST_TOOLING := $(TOOLING)
endif
$(TOOLING): tools/setup_ros2_tooling.sh tools/build_interfaces.sh requirements-ros2-tooling.txt constraints.txt \
            $(wildcard $(ROS2_VENDOR)/README.md) | $(STAMP)
	SCALEHP_ROS2_VENDOR=$(ROS2_VENDOR) bash tools/setup_ros2_tooling.sh $(VENV)

$(MODEL): | $(STAMP)
	$(PY) -m scalehp_ros.perception.model_bundle build --out $@

model: $(MODEL)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP) $(MODEL) $(TEST_TOOLING) lint
	$(RUN) $(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: the ROS-free unit tests (no DDS, no node processes, nothing marked slow). A test in this lane
# that initialises rclpy or starts a node process fails and asks for the `ros` marker. `make test` stays the
# CI command and runs everything.
test-fast: $(STAMP) $(MODEL)
	SCALEHP_TEST_LANE=fast $(RUN) $(PY) -m pytest -m "not ros and not slow" $(PYTEST_ARGS)

# The whole graph over real DDS (loopback only) on the bundled clip -> out/demo.mp4 and out/summary.json.
DEMO_ARGS ?=
demo: $(STAMP) $(MODEL)
	$(RUN) $(PY) -m scalehp_ros.bringup.demo --out out $(DEMO_ARGS)

# Benchmarks install their peer packages (dex-retargeting) on demand; see README "Performance".
bench: $(STAMP) $(MODEL)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-bench.txt
	@for b in bench/*.py; do echo "== $$b"; $(RUN) $(PY) $$b || exit 1; done

# Re-pin after a deliberate upgrade: prints the environment's versions for review against constraints.txt.
constraints: $(STAMP)
	$(PY) -m pip freeze --exclude-editable

clean:
	rm -rf build out .pytest_cache .ruff_cache
