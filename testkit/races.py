"""Races that really race: proof that concurrent requests met inside the code they contend for.

Starting two threads together does not make two requests overlap: on a loaded machine one can
finish before the other starts, and a race test that ran serially would pass as proof. `Overlap`
wraps the service function that holds the critical section (the claim of a draft, of a token,
of a number, of an outbox row) and holds the first callers at a barrier on the way in: none goes
on until all are inside, so they then contend for the claim together. A caller that never
arrives breaks the barrier (after `timeout` seconds), and `assert_overlapped` fails the test.

The barrier sits at the function's entry, before its transaction begins, because SQLite takes
its one write lock when a transaction begins (IMMEDIATE): two callers held inside their
transactions would wait for each other for ever.
"""

from __future__ import annotations

import functools
import threading
import time


class Overlap:
    def __init__(self, name: str, parties: int = 2, timeout: float = 20.0):
        self.name = name
        self.parties = parties
        self.timeout = timeout
        self.barrier = threading.Barrier(parties, timeout=timeout)
        self.lock = threading.Lock()
        self.calls = 0
        self.inside = 0
        self.most_inside = 0
        self.entered: list[float] = []  # monotonic times of the held callers
        self.left: list[float] = []
        self.released = 0  # callers the barrier let through (all at once, or none)

    def wrap(self, function):
        """`function`, with its first `parties` calls held at the barrier until all are inside."""

        @functools.wraps(function)
        def held(*args, **kwargs):
            with self.lock:
                self.calls += 1
                hold = self.calls <= self.parties
                if hold:
                    self.entered.append(time.monotonic())
                    self.inside += 1
                    self.most_inside = max(self.most_inside, self.inside)
            if not hold:
                return function(*args, **kwargs)
            try:
                self.barrier.wait()  # BrokenBarrierError when the others never come
                with self.lock:
                    self.released += 1
                return function(*args, **kwargs)
            finally:
                with self.lock:
                    self.inside -= 1
                    self.left.append(time.monotonic())

        return held

    def patch(self, monkeypatch, target, name: str) -> None:
        """Replace `target.name` (a module's function, as its callers look it up) with the held one."""
        monkeypatch.setattr(target, name, self.wrap(getattr(target, name)))

    def assert_overlapped(self) -> float:
        """All held callers were inside at once before any left; returns how long, in ms, they
        were all inside together (from the last one's entry to the first one's exit)."""
        assert self.released == self.parties, (
            f"{self.name}: the {self.parties} requests were never inside it together ({len(self.entered)} "
            f"arrived, none found the other there within {self.timeout:.0f} s): the race ran serially, "
            f"or a request was turned away before reaching it"
        )
        assert self.most_inside == self.parties and len(self.left) == self.parties, self.name
        together = min(self.left) - max(self.entered)
        assert together > 0, f"{self.name}: one request left before the other arrived"
        return together * 1000
