"""The services as real processes (`python -m services.<name>`), their logs kept for the report."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
MODULES = {
    "ingest": "services.ingest",
    "scoring": "services.scoring",
    "api": "services.api",
    "alerting": "services.alerting",
}


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float
    stopped: bool = False

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as an orchestrator would; SIGKILL if it does not end in `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return -9


@dataclass
class Services:
    """Named service processes sharing `env`; what went wrong in them, collected at the end."""

    logs: Path
    env: dict[str, str]
    started: list[Service] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def start(self, name: str, **env: str) -> Service:
        module = MODULES[name.split("-")[0]]
        count = sum(1 for s in self.started if s.name == name)
        log = self.logs / f"{name}-{count + 1}.log"
        with open(log, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", module],
                env={**os.environ, **self.env, **env},
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        service = Service(name, process, log, time.perf_counter())
        self.started.append(service)
        return service

    def check(self) -> None:
        """Raise if a service ended by itself: the figure being measured would never complete."""
        for service in self.started:
            code = service.process.poll()
            if code is not None and not service.stopped:
                raise RuntimeError(f"{service.name} exited with {code}:\n{tail(service.log)}")

    def stop(self, service: Service) -> None:
        service.stopped = True
        code = service.stop()
        if code not in (0, -signal.SIGTERM):
            self.problems.append(f"{service.name} exited with {code} on SIGTERM ({service.log})")
        self.problems.extend(log_problems(service))

    def discard(self, service: Service) -> None:
        """A start that failed as expected (a probe of a setting): no problem to report."""
        service.stop()
        service.stopped = True

    def stop_all(self) -> None:
        for service in reversed(self.started):
            if not service.stopped:
                self.stop(service)


@contextlib.contextmanager
def services(logs: Path, env: dict[str, str]) -> Iterator[Services]:
    logs.mkdir(parents=True, exist_ok=True)
    group = Services(logs, env)
    try:
        yield group
    finally:
        group.stop_all()


def log_problems(service: Service) -> list[str]:
    """Warnings and errors a service logged, one line per kind with how often."""
    seen: Counter[str] = Counter()
    examples: dict[str, str] = {}
    try:
        lines = service.log.read_bytes().splitlines()
    except OSError:
        return []
    for raw in lines:
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            text = raw.decode(errors="replace").strip()
            if "Traceback" in text or "Error" in text:
                seen[text[:160]] += 1
            continue
        if not isinstance(entry, dict):
            continue
        level = str(entry.get("level", "")).lower()
        if level in {"warning", "error", "critical", "exception"}:
            key = f"{level} {entry.get('event', '?')}"
            seen[key] += 1
            detail = entry.get("error") or entry.get("exception") or ""
            examples.setdefault(key, str(detail).strip().splitlines()[-1][:200] if detail else "")
    return [
        f"{service.name}: {key} x{count}" + (f" ({examples[key]})" if examples.get(key) else "")
        for key, count in seen.most_common()
    ]


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
