"""The one `main()` of every node: init, spin on a single-threaded executor, clean exit on SIGINT/SIGTERM.

rclpy's signal handlers turn SIGINT and SIGTERM into a context shutdown, which ends the spin with
ExternalShutdownException (or KeyboardInterrupt); either is a normal exit (code 0, no traceback), and further
signals are ignored while the node is released. A node that
cannot start (a bad robot YAML, a bad parameter) logs the reason and exits with code 1. The single-threaded
executor is deliberate: on 2 cores the multi-threaded one stalls callbacks by ~300 ms.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_node(make_node: Callable[[], Node], args: Sequence[str] | None = None, name: str = "scalehp_ros") -> int:
    """Create the node, spin it until shutdown, release it; return the process exit code.

    A node may define `spin_until_done()` (to stop by itself, e.g. at the end of a video) and `close()`
    (resources beyond the node: models, files); both are optional.
    """
    rclpy.init(args=list(args) if args is not None else sys.argv)
    node: Node | None = None
    code = 0
    try:
        node = make_node()
        spin = getattr(node, "spin_until_done", None)
        if spin is not None:
            spin()
        else:
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        if node is None or rclpy.ok():  # not a callback that raced a signal's shutdown (e.g. a publish)
            logger = node.get_logger() if node is not None else rclpy.logging.get_logger(name)
            logger.fatal(f"cannot run: {exc}")
            code = 1
    finally:
        # `ros2 launch` forwards Ctrl-C to every node although the terminal already sent SIGINT to the whole
        # process group: a second signal during clean-up must not turn a clean exit into a traceback. It may
        # arrive while the handlers are being replaced (its KeyboardInterrupt is raised there): it is one of
        # the signals being ignored, so the replacing goes on.
        while True:
            try:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_IGN)
                break
            except KeyboardInterrupt:
                continue
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return code
