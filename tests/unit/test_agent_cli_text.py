"""`baton escalations` as an agent meets it, without a server: what it prints of the
server's text (anyone's words never drive the agent's terminal) and what it asks for."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from api.cli import main
from api.cli_escalations import Remote, _row, printable


def test_text_from_the_server_never_drives_the_agents_terminal() -> None:
    title = "esc \x1b]0;pwned\x07\x1b[2J\x9b31mRED"  # retitle, clear, colour (C1 CSI)
    row = _row({"id": "e1", "state": "opened", "tier": 0, "severity": "low", "title": title})
    assert "\x1b" not in row and "\x07" not in row and "\x9b" not in row
    assert row.endswith("esc \\x1b]0;pwned\\x07\\x1b[2J\\x9b31mRED")
    assert printable("| a |\n| b\t|\n") == "| a |\n| b\t|\n"  # a timeline's lines stay
    assert printable("seq,at\r\n1,x\r2") == "seq,at\r\n1,x\\x0d2"  # a CSV's CRLF, no lone CR


def test_an_agent_finds_what_is_offered_to_them_and_searches(monkeypatch: Any) -> None:
    asked: list[dict[str, Any]] = []

    def call(self: Remote, method: str, path: str, **kw: Any) -> tuple[str, bytes]:
        asked.append({k: v for k, v in (kw.get("query") or {}).items() if v is not None})
        return "application/json", json.dumps({"items": []}).encode()
    monkeypatch.setattr(Remote, "call", call)
    done = CliRunner().invoke(main, ["escalations", "list", "--proposed-owner", "me",
                                     "--handoff", "pending", "--search", "card"],
                              env={"BATON_TOKEN": "bt_x"})
    assert done.exit_code == 0, done.output
    assert asked == [{"proposed_owner": "me", "handoff": "pending", "q": "card", "limit": 50}]
