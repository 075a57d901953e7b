"""What every foreground process and local service launcher shares: stopping on
SIGTERM/SIGINT, context-manager use, and a clean stop of the process group a server
runs in (servers start helpers; none may outlive a test)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM/SIGINT while inside: loops finish their current step and
    exit cleanly. The previous handlers are restored on the way out."""
    stop = threading.Event()

    def _handler(signum: int, frame: object) -> None:
        log.info("received signal %s: stopping after the current step", signum)
        stop.set()

    previous = {s: signal.signal(s, _handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
