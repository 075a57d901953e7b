"""What every local service launcher shares: context-manager use and a clean stop of
the process group a server runs in (servers start helpers; none may outlive a test)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self


def stop_group(pid: int, exited: Callable[[], bool], grace: float = 10.0) -> None:
    """SIGTERM the process group of ``pid``; SIGKILL it if ``exited`` is still false
    after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if exited():
                return
            time.sleep(0.05)


class Service:
    """A local server: ``with Launcher(...) as server:`` starts it and stops it."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
