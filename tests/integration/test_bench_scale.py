"""bench.scale keeps running: 1, 2 and 3 servers on one PostgreSQL at a trivial size."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from api.testbed import find
from tests.availability import unavailable

ROOT = Path(__file__).resolve().parents[2]


def test_one_two_and_three_servers_beside_the_one_server_baseline(tmp_path: Path) -> None:
    if find("initdb") is None:  # skipped on a laptop without it, a failure under CI
        unavailable("PostgreSQL server binaries not found", "BATON_REQUIRE_POSTGRES")
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--workers", "1", "--clients", "3",
         "--seconds", "1", "--rounds", "1", "--json", str(tmp_path / "scale.json")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^machine: cores=\d+, ", out, re.M) and "load average: [" in out
    for k in (1, 2, 3):
        assert re.search(rf"^{k} servers? +x 1 workers: +[\d.]+ transitions/s .*against 1 "
                         rf"server [\d.]+/s: [\d.]+$", out, re.M), (k, out)
    assert len(re.findall(r"worker [\d.]+ \+ database [\d.]+ \+ client [\d.]+ ms "
                          r"CPU/request", out)) == 3
    saved = json.loads((tmp_path / "scale.json").read_text())["figures"]
    assert set(saved["servers"]) == {"1", "2", "3"}
    assert saved["servers"]["1"]["ratio_to_one_server"] == 1.0
    assert all(s["per_s"] > 0 and s["errors"] == 0 for s in saved["servers"].values())
