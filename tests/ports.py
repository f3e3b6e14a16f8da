"""Ports for the servers tests start, never one picked free and let go for anyone to take.

An in-process server listens on a socket bound here (`listening_socket`). A server that binds
its own (in another process, or aiosmtpd's) is started inside `reserved_port()`: a port below the
ephemeral range (which the kernel never hands out by itself, for `bind(0)` or as the source port
of a connection), bound by us alone before it is named to the server, then shared with it. A
socket bound with SO_REUSEADDR and not listening lets another SO_REUSEADDR socket bind the port and
listen there (Go's, asyncio's, uvicorn's and so aiosmtpd's listeners set it on Linux), while no
other test's `reserved_port()` can take it. So the port is ours from the moment we choose it until
the block ends, through the server's start and any restart: a test that stops its server and
starts it again on the same address keeps the block open across both. An address where nobody
listens is a reserved port with no server: a connection to it is refused, for as long as the
block lasts.
"""

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def _claimed(port: int) -> socket.socket | None:
    """`port` bound by this socket alone, or None if anyone else has it bound (or had it lately:
    TIME_WAIT). Bound without SO_REUSEADDR, no one else can share it; set afterwards, the server
    we name it to can."""
    sock = socket.socket()
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        return None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


@contextmanager
def reserved_port() -> Iterator[int]:
    """A port for a server that binds its own, ours until the block ends: start the server in it."""
    ports = _below_ephemeral()
    for _ in range(200):
        sock = _claimed(random.choice(ports))
        if sock is not None:
            break
    else:
        raise RuntimeError("no free port below the ephemeral range")
    with sock:
        yield port_of(sock)
