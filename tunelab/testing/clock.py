"""A fake server clock for tests of the studies engine (which reads time only through ``studies.storage.now``).

``install(monkeypatch, step=...)`` replaces ``studies.storage.now``: every reading returns the current fake
time and then moves it on by ``step`` seconds, so tests that do not care about time pass the full-playback
rule at once; tests about time set ``step = 0`` and call :meth:`FakeClock.advance`. Processes forked after
installing it (concurrent participants) inherit their own copy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """UTC time that only moves when read (by ``step`` seconds) or when :meth:`advance` is called."""

    def __init__(self, step: float = 0.0, start: datetime | None = None) -> None:
        self.time = start or datetime(2030, 1, 1, tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        now = self.time
        self.time = now + timedelta(seconds=self.step)
        return now

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``."""
        self.time += timedelta(seconds=seconds)


def install(monkeypatch, step: float = 0.0) -> FakeClock:  # noqa: ANN001 - pytest.MonkeyPatch
    """Make ``studies.storage.now`` a :class:`FakeClock` for the rest of the test; return the clock."""
    from studies import storage

    clock = FakeClock(step=step)
    monkeypatch.setattr(storage, "now", clock)
    return clock
