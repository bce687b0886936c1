"""The colour/depth approximate time synchroniser (common.stamp_sync), without ROS."""

from __future__ import annotations

import pytest

from scalehp_ros.common.stamp_sync import OUT_OF_SYNC_AFTER, ApproximateSync


def _reasons(pairs):
    return [p.reason for p in pairs]


def test_without_secondary_the_primary_is_released_at_once():
    sync = ApproximateSync(slop_s=0.01, max_wait_s=0.05, timeout_s=0.5)
    (pair,) = sync.add_primary(1.0, "c1", now=0.0)
    assert pair.reason == "no_secondary" and pair.secondary is None and pair.primary == "c1"


def test_secondary_before_or_after_the_primary_is_paired_within_the_slop():
    sync = ApproximateSync(slop_s=0.01, max_wait_s=0.05, timeout_s=0.5)
    assert sync.add_secondary(0.995, "d0", now=0.0) == []  # a depth image first
    (pair,) = sync.add_primary(1.0, "c0", now=0.001)
    assert (pair.reason, pair.secondary, pair.secondary_stamp) == ("matched", "d0", 0.995)
    # the next colour image waits for its depth, which arrives later (aligned depth is computed after it)
    assert sync.add_primary(1.033, "c1", now=0.033) == [] and sync.waiting == 1
    (pair,) = sync.add_secondary(1.034, "d1", now=0.040)
    assert (pair.reason, pair.primary, pair.secondary) == ("matched", "c1", "d1")
    # nearest of several buffered
    sync.add_secondary(1.066, "d2", now=0.07)
    sync.add_secondary(1.100, "d3", now=0.10)
    (pair,) = sync.add_primary(1.098, "c3", now=0.101)
    assert pair.secondary == "d3"


def test_a_depth_newer_than_the_slop_releases_unpaired_and_a_late_one_times_out():
    sync = ApproximateSync(slop_s=0.01, max_wait_s=0.05, timeout_s=0.5)
    sync.add_secondary(1.00, "d0", now=0.0)
    assert sync.add_primary(1.03, "c", now=0.03) == []  # its depth may still come
    (pair,) = sync.add_secondary(1.06, "d2", now=0.06)  # skipped past it: it never will
    assert pair.reason == "unmatched" and pair.secondary is None and abs(pair.offset_s) == pytest.approx(0.03)
    assert sync.add_primary(1.10, "c2", now=0.10) == []
    assert sync.poll(0.12) == []
    (pair,) = sync.poll(0.151)
    assert pair.reason == "timeout" and pair.offset_s == pytest.approx(-0.04)


def test_a_stopped_depth_stream_goes_stale_and_the_colour_path_does_not_wait():
    sync = ApproximateSync(slop_s=0.01, max_wait_s=0.05, timeout_s=0.3)
    sync.add_secondary(1.0, "d", now=0.0)
    assert sync.add_primary(1.5, "c", now=0.2) == []  # depth active: wait
    (pair,) = sync.poll(0.31)  # no depth for longer than timeout_s: released as stale
    assert pair.reason == "stale"
    (pair,) = sync.add_primary(1.6, "c2", now=0.4)
    assert pair.reason == "stale"  # at once


def test_a_depth_stream_on_another_clock_stops_costing_waits_and_recovers():
    sync = ApproximateSync(slop_s=0.01, max_wait_s=0.05, timeout_s=1.0)
    now, reasons = 0.0, []
    for k in range(OUT_OF_SYNC_AFTER + 3):
        t = 10.0 + k / 30
        sync.add_secondary(t - 5.0, "old", now)  # depth stamped 5 s in the past
        reasons += _reasons(sync.add_primary(t, "c", now))
        now += 0.06
        reasons += _reasons(sync.poll(now))
    assert reasons[:OUT_OF_SYNC_AFTER] == ["timeout"] * OUT_OF_SYNC_AFTER
    assert set(reasons[OUT_OF_SYNC_AFTER:]) == {"out_of_sync"} and sync.out_of_sync
    # a depth that would have matched a recent colour image: waiting is worth it again
    sync.add_secondary(10.0 + (OUT_OF_SYNC_AFTER + 2) / 30, "good", now)
    assert not sync.out_of_sync


def test_queue_overflow_drops_the_oldest_and_restart_clears():
    sync = ApproximateSync(slop_s=0.01, max_wait_s=1.0, timeout_s=5.0, queue_size=2)
    sync.add_secondary(0.5, "d", now=0.0)
    for k in range(3):
        assert sync.add_primary(1.0 + k, k, now=0.01) == []
    assert sync.dropped == 1 and sync.waiting == 2
    (pair,) = sync.add_primary(0.2, "restart", now=0.02)  # stamps went back: the old waiting ones are gone
    assert sync.waiting == 0 and pair.primary == "restart" and pair.reason == "unmatched"


def test_bad_settings_raise():
    with pytest.raises(ValueError):
        ApproximateSync(slop_s=-1.0)
