"""`make run`: the whole system on one machine, from nothing.

Starts a memory-only Tansu broker on 127.0.0.1:9092 (unless KAFKA_BOOTSTRAP_SERVERS is set), an
embedded PostgreSQL (unless DATABASE_URL is set), migrates, then runs ingest, scoring, the api on
http://127.0.0.1:8000 with its alerting process, and the simulator as child processes. Ctrl-C stops
them all, in order.

The simulator's backfill is a backlog: scoring starts its history at the backfill's first day
(`SCORING_HISTORY_FROM`) and the simulator sends it a day at a time, each stored by ingest before
the next, so that after it the history holds every past day of it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config

from services.devstack.stack import (
    LOCAL_REDIS,
    embedded_postgres,
    redis_answers,
    tansu_broker,
    wait_for_port,
)
from services.ingest.settings import IngestSettings
from services.simulator.lifecycle import LOCAL

ROOT = Path(__file__).resolve().parents[2]
# (name, module) of each service process; the stack waits for the api's port.
SERVICES = (
    ("ingest", "services.ingest"),
    ("scoring", "services.scoring"),
    ("api", "services.api"),
    ("alerting", "services.alerting"),
)
# Where the background services serve /metrics, /livez and /readyz (the api: on its own port),
# from `--ops-port` on, in this order.
OPS_SERVICES = ("ingest", "scoring", "alerting")


def say(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@contextlib.contextmanager
def broker(port: int) -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        say(f"using the broker at {configured}")
        yield configured
        return
    with tansu_broker(port) as address:
        say(f"Tansu broker (memory only) on {address}")
        yield address


@contextlib.contextmanager
def database() -> Iterator[str]:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        say("using the PostgreSQL of DATABASE_URL")
        yield configured
        return
    # A fresh database each run: the memory-only broker starts empty, and stored Kafka
    # offsets from an earlier run would point past its end.
    with (
        tempfile.TemporaryDirectory(prefix="chiso766-") as folder,
        embedded_postgres(Path(folder) / "pgdata", keep=False) as url,
    ):
        say(f"embedded PostgreSQL started; for `make verify`: DATABASE_URL='{url}'")
        yield url


def start(
    name: str, module: str, env: dict[str, str], args: list[str] | None = None
) -> subprocess.Popen[bytes]:
    say(f"starting {name}")
    return subprocess.Popen([sys.executable, "-m", module, *(args or [])], env=env, cwd=ROOT)


def backfill_from(weeks: float) -> date:
    """The local day the simulator's backfill starts in: the history's first."""
    return (datetime.now(UTC) - timedelta(weeks=weeks)).astimezone(LOCAL).date()


def ingest_group() -> str:
    default: str = IngestSettings.model_fields["ingest_consumer_group"].default
    return os.environ.get("INGEST_CONSUMER_GROUP", default)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("--broker-port", type=int, default=9092)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument(
        "--ops-port",
        type=int,
        default=9101,
        help="ingest's /metrics port; scoring and alerting take the next two",
    )
    parser.add_argument("--backfill-weeks", default="3")
    parser.add_argument("--scale", default="1.0")
    parser.add_argument("--no-simulator", dest="simulator", action="store_false")
    parser.add_argument(
        "--national",
        action="store_true",
        help="the simulator sends the DongBoHoSoMC items of the national sync, not the contract",
    )
    args = parser.parse_args(argv)
    ops_ports = {name: args.ops_port + i for i, name in enumerate(OPS_SERVICES)}

    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    processes: list[subprocess.Popen[bytes]] = []
    with broker(args.broker_port) as bootstrap, database() as database_url:
        migrate(database_url)
        say("database migrated")
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "API_PORT": str(args.api_port),
            # Two workers, counting one rate-limit window in the machine's Redis if it has one.
            "API_WORKERS": os.environ.get("API_WORKERS", "2"),
            "API_RATE_LIMIT_STORAGE": os.environ.get(
                "API_RATE_LIMIT_STORAGE", LOCAL_REDIS if redis_answers(LOCAL_REDIS) else "memory://"
            ),
            "LOG_JSON": os.environ.get("LOG_JSON", "false"),
        }
        own: dict[str, dict[str, str]] = {
            name: {"OPS_PORT": str(port)} for name, port in ops_ports.items()
        }
        if args.simulator:
            first = backfill_from(float(args.backfill_weeks)).isoformat()
            history_from = os.environ.get("SCORING_HISTORY_FROM", first)
            own["scoring"]["SCORING_HISTORY_FROM"] = history_from
            say(f"history from {history_from} (the backfill's first day: {first})")
        try:
            for name, module in SERVICES:
                processes.append(start(name, module, {**env, **own.get(name, {})}))
            api = processes[[name for name, _ in SERVICES].index("api")]
            wait_for_port(args.api_port, api, timeout=60)
            say(f"API on http://127.0.0.1:{args.api_port} (docs at /docs, metrics at /metrics)")
            say(
                "operations: "
                + ", ".join(f"{n} http://127.0.0.1:{p}/metrics" for n, p in ops_ports.items())
            )
            if args.simulator:
                processes.append(
                    start(
                        "simulator",
                        "services.simulator",
                        env,
                        [
                            "--bootstrap-servers",
                            bootstrap,
                            "--backfill-weeks",
                            args.backfill_weeks,
                            "--scale",
                            args.scale,
                            "--paced-by",
                            ingest_group(),
                            *(["--national"] if args.national else []),
                        ],
                    )
                )
            say("running; Ctrl-C stops everything")
            while not stopping:
                failed = [p for p in processes[: len(SERVICES)] if p.poll() is not None]
                if failed:
                    say(f"a service exited with {failed[0].returncode}; stopping")
                    break
                time.sleep(0.5)
        finally:
            say("stopping")
            stop_all(processes)
    say("stopped")


if __name__ == "__main__":
    main()
