"""The README stays true: its diagram, its commands, its policy table."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from workflow import policy_loader
from workflow.lifecycle import lifecycle

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_readme_diagram_is_the_generated_one() -> None:
    block = re.search(r"```mermaid\n(.*?)```", README, re.S)
    assert block is not None
    assert block.group(1) == lifecycle(policy_loader.default().max_tier).mermaid()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert commands[1] == ".ci/test"
    run = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert run[-1] == "exec .ci/test"
    assert commands[0].endswith(".venv/bin/baton demo")


def test_readme_policy_table_matches_the_default_policy() -> None:
    policy = policy_loader.default()
    rows = re.findall(r"^\| (\w+) \| (\d|–) \| ([\d,]+|unlimited|–) \| (yes|no) \|",
                      README, re.M)
    assert [r[0] for r in rows] == list(policy.roles)
    for name, tier, limit, governance in rows:
        role = policy.roles[name]
        assert (str(role.tier) if role.tier is not None else "–") == tier, name
        assert role.governance == (governance == "yes"), name
        if limit == "unlimited":
            assert role.limit == policy_loader.UNLIMITED
        elif limit != "–":
            assert role.limit == Decimal(limit.replace(",", "")), name
