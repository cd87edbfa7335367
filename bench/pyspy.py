"""py-spy attached to a running service: where its time goes, for `--profile`.

`py-spy record --pid` samples the process from outside (no change to it) until it exits, then
writes the file. `--idle` keeps the samples of a thread waiting in the event loop's `select`:
scoring waits there for PostgreSQL and nothing else, so their share is its time in the database.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def binary() -> str:
    found = shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy on the PATH (pip install py-spy)")
    return found


def record(pid: int, output: Path, rate: int = 200) -> subprocess.Popen[bytes]:
    """Sample process `pid` until it exits; a speedscope file at `output` then."""
    output.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            binary(),
            "record",
            "--pid",
            str(pid),
            "--idle",
            "--rate",
            str(rate),
            "--format",
            "speedscope",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=output.with_suffix(".log").open("wb"),
    )
