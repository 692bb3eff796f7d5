"""`baton demo --port N`: the links it hands out (feedback links, and the links in
notifications) lead to the port it serves on, not to the default one."""

from __future__ import annotations

import os
from pathlib import Path

import requests

from tests.e2e.test_demo_seed import _demo, _stop
from workflow.demo_seed import IDS


def test_a_demo_on_another_port_hands_out_links_to_that_port(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BATON_PUBLIC_URL"}
    env |= {"BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
            "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    proc, url, tokens, _ = _demo(tmp_path, env)
    try:
        eid, alice = IDS["open-taken"], {"Authorization": f"Bearer {tokens['alice']}"}
        resolved = requests.post(f"{url}/api/v1/escalations/{eid}/actions/resolve",
                                 json={"summary": "Mail relay fixed"}, headers=alice, timeout=30)
        assert resolved.status_code == 200, resolved.text
        link = requests.post(f"{url}/api/v1/escalations/{eid}/feedback-link", json={},
                             headers=alice, timeout=30)
        assert link.status_code in (200, 201), link.text
        assert link.json()["link"].startswith(f"{url}/feedback/"), (url, link.json()["link"])
        assert requests.get(link.json()["link"], timeout=30).status_code == 200
    finally:
        _stop(proc)
