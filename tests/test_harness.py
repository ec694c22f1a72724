"""The test suite's own machinery: what keeps CI from flaking and from passing on a skip."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def test_one_hypothesis_profile_for_the_suite_without_timing_checks():
    """A slow example on a loaded machine says nothing about the code: no deadline and no too_slow
    health check, whichever profile runs (too_slow failed test_same_output_as_wtforms in CI)."""
    for name in ("default", "ci"):
        profile = settings.get_profile(name)
        assert profile.deadline is None, name
        assert HealthCheck.too_slow in profile.suppress_health_check, name
        assert profile.database is None, name  # nothing written into the work tree
    assert settings.get_profile("ci").max_examples > settings.get_profile("default").max_examples
    assert settings.default.deadline is None and HealthCheck.too_slow in settings.default.suppress_health_check


def test_an_unreachable_service_is_a_skip_on_a_laptop_and_a_failure_in_ci(monkeypatch):
    """Tests that need Redis or PostgreSQL must not pass CI by skipping."""
    import pytest

    from conftest import free_port, redis_reachable, service_unavailable

    assert not redis_reachable(port=free_port())  # nothing listens there
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is not reachable"):
        service_unavailable("Redis is not reachable")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="Redis is not reachable. CI is set"):
        service_unavailable("Redis is not reachable")


def test_the_redis_fixture_fails_in_ci_when_redis_does_not_answer(monkeypatch):
    import pytest

    import conftest

    monkeypatch.setenv("CI", "1")
    monkeypatch.setattr(conftest, "redis_reachable", lambda: False)
    with pytest.raises(pytest.fail.Exception, match="Redis is not reachable on 127.0.0.1:6379"):
        conftest.redis_server.__wrapped__()


def test_a_worker_process_that_logs_a_lot_never_blocks_on_its_output():
    """The worker tests read a worker's output only when they stop it. Through a pipe nobody read
    while it ran, a worker that logged more than the pipe holds (64 KiB: about 900 'sent' lines,
    more when leases are taken over) blocked in its next log write, holding its leases, and the
    import test timed out with emails unsent (seen once in a PostgreSQL run). Its output goes to
    a file instead, read back whole by stop_worker."""
    import sys

    from testkit.worker import spawn, stop_worker

    line = "Email 705 (activation) sent (attempt 2)"
    process = spawn([sys.executable, "-c", f"for i in range(20_000): print({line!r}, i)"], env={})
    assert process.wait(timeout=30) == 0  # it finished writing ~900 KB with nobody reading
    output = stop_worker(process)
    assert output.count(line) == 20_000 and output.rstrip().endswith(f"{line} 19999")
