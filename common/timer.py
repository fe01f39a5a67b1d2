"""A small wall-clock timer with running and recent averages."""
import collections
import time


class Timer:
    """`tic()` ... `toc()` intervals.

    `average_time`: mean over all intervals so far after the first 10 (start-up costs such as
    data-loader workers and cudnn autotune left out), as in the original release.
    `recent_time`: mean of the last `window` intervals (default 20, warm-up included), i.e. the
    current speed; use it for speed and ETA displays. `diff`: the last interval.
    """

    def __init__(self, window=20):
        self.total_time = 0.
        self.calls = 0
        self.start_time = 0.
        self.diff = 0.
        self.average_time = 0.
        self.warm_up = 0
        self.recent = collections.deque(maxlen=window)

    @property
    def recent_time(self):
        """Mean seconds of the last `window` intervals (0 before the first `toc()`)."""
        return sum(self.recent) / len(self.recent) if self.recent else 0.

    def tic(self):
        self.start_time = time.perf_counter()

    def toc(self, average=True):
        """Seconds since `tic()`; the running average (default) or this interval."""
        self.diff = time.perf_counter() - self.start_time
        self.recent.append(self.diff)
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
