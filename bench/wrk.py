"""wrk, the compiled HTTP load generator: run it, and read its `--latency` report."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Counts the responses by status (wrk itself only counts those outside 2xx and 3xx). Defining
# `response` makes wrk hand every response to Lua, so it is used only where the status is the
# point (the 304 runs), whose bodies are empty. Like a polling screen, each thread then sends the
# ETag of the last 200 it got: the counts move with time alone (a dossier falls overdue at its
# due time, no event needed), and a client that kept its first ETag would get 200s from then on.
STATUS_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) c200 = 0; c304 = 0; cother = 0 end
function request() return wrk.format() end
function response(status, headers, body)
  if status == 200 then
    c200 = c200 + 1
    local tag = headers["etag"] or headers["ETag"]
    if tag then wrk.headers["If-None-Match"] = tag end
  elseif status == 304 then c304 = c304 + 1
  else cother = cother + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("c200"); b = b + thread:get("c304"); c = c + thread:get("cother")
  end
  io.write(string.format("status 200 %d\\nstatus 304 %d\\nstatus other %d\\n", a, b, c))
end
"""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DISTRIBUTION = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)


# wrk's own pacing: each connection waits `delay()` ms before its next request, so the load is
# about connections x 1000 / (delay + latency) requests a second, short of saturating the machine.
# wrk times a request from when it is written (after the delay) to its response: a slow answer
# delays that connection's next request, so the rate falls short of the pace (the report shows
# it) rather than a queue growing unseen. The delay is drawn from an exponential distribution,
# each thread's seed its own: with one fixed delay the connections, started together, stay in step
# and send bursts of `connections` requests at once, and p99 measures a burst's queue rather
# than the traffic of as many independent clients.
PACE_SCRIPT = """
local seeded = false
function delay()
  if not seeded then
    -- Each thread has its own Lua state, and so a table at its own address.
    math.randomseed(tonumber(tostring({}):match("0x(%%x+)"), 16) %% 2147483647)
    seeded = true
  end
  return -%.3f * math.log(1 - math.random())
end
"""


@dataclass(frozen=True, slots=True)
class Load:
    threads: int = 2
    connections: int = 32
    seconds: float = 15
    # Requests a second to pace the load at (None: as fast as the api answers).
    rate: float | None = None

    def paced(self, rate: float) -> Load:
        return Load(self.threads, self.connections, self.seconds, rate)

    def script(self, count_statuses: bool) -> str:
        parts = [STATUS_SCRIPT] if count_statuses else []
        if self.rate:
            parts.append(PACE_SCRIPT % (self.connections * 1000 / self.rate))
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class WrkResult:
    url: str
    requests_per_second: float
    requests: int
    # {50: seconds, 75: …, 90: …, 99: …}
    latency: dict[int, float]
    # Responses outside 2xx/3xx, socket errors, and (with the status script) counts by status.
    non_2xx_3xx: int = 0
    socket_errors: str = ""
    statuses: dict[str, int] = field(default_factory=dict)
    output: str = ""

    @property
    def p50(self) -> float:
        return self.latency.get(50, float("nan"))

    @property
    def p99(self) -> float:
        return self.latency.get(99, float("nan"))

    def status_share(self, status: str) -> float | None:
        total = sum(self.statuses.values())
        return self.statuses.get(status, 0) / total if total else None


def available() -> str | None:
    return shutil.which("wrk")


def parse(url: str, output: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rate:
        raise RuntimeError(f"wrk gave no Requests/sec for {url}:\n{output}")
    requests = re.search(r"(\d+) requests in", output)
    latency = {int(q): float(v) * _UNITS[u] for q, v, u in _DISTRIBUTION.findall(output)}
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors:\s*(.+)", output)
    statuses = dict(re.findall(r"^status (\w+) (\d+)$", output, re.M))
    return WrkResult(
        url,
        float(rate.group(1)),
        int(requests.group(1)) if requests else 0,
        latency,
        int(non.group(1)) if non else 0,
        sockets.group(1).strip() if sockets else "",
        {k: int(v) for k, v in statuses.items()},
        output,
    )


async def run(
    url: str, load: Load, headers: dict[str, str] | None = None, count_statuses: bool = False
) -> WrkResult:
    command = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(load.seconds))}s",
        "--timeout",
        "30s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory(prefix="chiso766-wrk-") as folder:
        script = load.script(count_statuses)
        if script:
            path = Path(folder) / "load.lua"
            path.write_text(script)
            command += ["-s", str(path)]
        process = await asyncio.create_subprocess_exec(
            *command,
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}) on {url}:\n{text}")
    return parse(url, text)
