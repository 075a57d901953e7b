"""Free loopback ports, so that parallel test runs and worktrees never clash."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_pair(offset: int = 10000) -> int:
    """A port ``p`` with ``p + offset`` free too (SeaweedFS puts gRPC at +10000)."""
    for _ in range(100):
        port = free_port()
        if port + offset >= 65536:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + offset))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of loopback ports")
