"""Peak resident memory of this process and all its children (the Spark JVM included)."""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def tree_rss_bytes() -> int:
    """Resident bytes of this process plus every descendant process, right now."""
    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # the child ended while we looked
            continue
    return int(total)


class PeakRss:
    """Context manager sampling `tree_rss_bytes` every `interval` s; `peak_mb` after exit."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss_bytes())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_bytes())

    @property
    def peak_mb(self) -> float:
        """The peak in MiB."""
        return self.peak / 2**20
