"""A small wall-clock timer with running average (as in the original release)."""
import time


class Timer:
    """`tic()` ... `toc()` intervals; `average_time` is the mean over all intervals so far."""

    def __init__(self):
        self.total_time = 0.
        self.calls = 0
        self.start_time = 0.
        self.diff = 0.
        self.average_time = 0.
        self.warm_up = 0

    def tic(self):
        self.start_time = time.time()

    def toc(self, average=True):
        """Seconds since `tic()`; the running average (default) or this interval."""
        self.diff = time.time() - self.start_time
        # the first intervals include start-up costs (workers, cudnn autotune): leave them out
        if self.warm_up < 10:
            self.warm_up += 1
            if self.calls == 0:
                self.average_time = self.diff
            return self.diff
        self.total_time += self.diff
        self.calls += 1
        self.average_time = self.total_time / self.calls
        return self.average_time if average else self.diff
