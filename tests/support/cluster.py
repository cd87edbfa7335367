"""The services as real processes, to kill with SIGKILL and start again like an orchestrator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.infra import ROOT

MODULES = {
    "ingest": "services.ingest",
    "scoring": "services.scoring",
    "alerting": "services.alerting",
    "api": "services.api",
}


@dataclass
class Cluster:
    """Named instances (`ingest`, `ingest-2`, ...) of the services, sharing `env`."""

    env: dict[str, str]
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    starts: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)

    def start(self, name: str, **env: str) -> None:
        if env:
            self.extra_env[name] = env
        service = name.split("-")[0]
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (the process owns it)
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", MODULES[service]],
            env={**os.environ, **self.env, **self.extra_env.get(name, {})},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts[name] += 1

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine or a container dies."""
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        self.kills[name] += 1

    def stop(self, name: str) -> int:
        """SIGTERM, as an orchestrator scaling down; the exit code."""
        process = self.running.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise

    def exited(self) -> dict[str, int]:
        """The instances that ended by themselves (a crash), with their exit codes."""
        return {name: code for name, p in self.running.items() if (code := p.poll()) is not None}

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.running.items()}

    def stop_all(self) -> None:
        """Stop every instance, then raise the first failure: one that would not stop (killed)
        must not leave the others running after the test."""
        failures: list[subprocess.TimeoutExpired] = []
        for name in list(self.running):
            try:
                self.stop(name)
            except subprocess.TimeoutExpired as error:
                failures.append(error)
        if failures:
            raise failures[0]

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.logs.glob("*.log")))
