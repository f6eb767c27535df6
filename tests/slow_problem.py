"""Objectives for run tests (imported by configurations through ``callable = ...``)."""

import time

import numpy as np


class SlowSphere:
    """Sphere that takes ``delay`` seconds and fails where x[0] > ``fail_above``."""

    def __init__(self, delay=0.0, fail_above=None):
        self.delay = delay
        self.fail_above = fail_above

    def __call__(self, x):
        if self.delay:
            time.sleep(self.delay)
        if self.fail_above is not None and x[0] > self.fail_above:
            raise ValueError("simulated failure")
        return float(np.sum(np.asarray(x) ** 2))


class LoggedSphere:
    """Sphere that takes ``delay`` seconds and appends a line to ``log`` as each call starts."""

    def __init__(self, log, delay=0.0):
        self.log = log
        self.delay = delay

    def __call__(self, x):
        with open(self.log, "a") as fh:
            fh.write(" ".join(f"{v:.17g}" for v in x) + "\n")
        if self.delay:
            time.sleep(self.delay)
        return float(np.sum(np.asarray(x) ** 2))
