"""Objectives for the Dask tests: importable by the workers (tests/ is on their PYTHONPATH)."""

import os
import time
import uuid
from pathlib import Path

import numpy as np


def fragile(x):
    """x[0]**2, or a ValueError for a negative x[0]."""
    if x[0] < 0:
        raise ValueError(f"negative input {x[0]}")
    return float(x[0]) ** 2


def sleepy(seconds):
    """Sleep that many seconds; return them."""
    time.sleep(seconds)
    return float(seconds)


def exit_on_three(x):
    """Kill the worker process for x == 3 (as a segfault would); x otherwise."""
    if x == 3:
        os._exit(1)
    time.sleep(0.02)
    return float(x)


class CountedSphere:
    """A sphere that takes ``delay`` seconds and leaves one file in ``calls`` per call."""

    def __init__(self, calls, delay=0.0):
        self.calls = str(calls)
        self.delay = delay

    def __call__(self, x):
        Path(self.calls, uuid.uuid4().hex).write_text(repr(list(map(float, x))))
        if self.delay:
            time.sleep(self.delay)
        return float(np.sum(np.asarray(x) ** 2))


class TimedSphere:
    """A sphere that takes ``delay`` seconds and leaves a file "start end" (wall clock) in
    ``calls`` per call."""

    def __init__(self, calls, delay=0.0):
        self.calls = str(calls)
        self.delay = delay

    def __call__(self, x):
        t0 = time.time()
        time.sleep(self.delay)
        Path(self.calls, uuid.uuid4().hex).write_text(f"{t0} {time.time()}")
        return float(np.sum(np.asarray(x) ** 2))
