"""Ports for the servers tests start, never one picked free and let go for anyone to take.

A port the kernel hands out for `bind(0)` is in its ephemeral range, which is also where it picks
the source port of every outgoing connection and the ports a Temporal dev server takes for its
own services while it starts. Released, such a port may be taken before our server binds it. So
an in-process server listens on a socket bound here (`listening_socket`), and a server in
another process gets a port below the ephemeral range (`unused_port`), which the kernel never
hands out by itself, held by us while that server is down (`held`).
"""

import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.polling import eventually

HOST = "127.0.0.1"
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def listening_socket() -> socket.socket:
    """A socket bound to a port of the kernel's choosing and listening: give it to the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def port_of(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


def _below_ephemeral() -> range:
    first = int(EPHEMERAL.read_text().split()[0]) if EPHEMERAL.exists() else 32768
    return range(max(1024, first - 12_000), first)


def _bound(port: int) -> socket.socket | None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        return None
    return sock


def unused_port() -> int:
    """A port for a server in another process: outside the ephemeral range, free right now."""
    ports = _below_ephemeral()
    for _ in range(200):
        port = random.choice(ports)
        sock = _bound(port)
        if sock is not None:
            sock.close()
            return port
    raise RuntimeError("no unused port below the ephemeral range")


@asynccontextmanager
async def held(port: int) -> AsyncIterator[None]:
    """Holds `port` (bound, not listening) from when its stopped server lets go of it: it stays
    ours to start the next server on."""

    async def free() -> socket.socket | None:
        return _bound(port)

    sock = await eventually(free, f"port {port} let go by its stopped server", within=30)
    assert sock is not None
    try:
        yield
    finally:
        sock.close()
