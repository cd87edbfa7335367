"""The dashboard's pure modules (`*.test.mjs` beside this file) under Node's own test runner: no
npm package, nothing downloaded. Node is Debian's `nodejs` (`make browser-setup` installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def test_the_dashboards_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: apt-get install -y nodejs (as `make browser-setup` does)")
    files = sorted(str(path) for path in HERE.glob("*.test.mjs"))
    assert files, "no module tests found"
    ran = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "# fail 0" in ran.stdout
