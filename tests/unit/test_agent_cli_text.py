"""What `baton escalations` prints of the server's text: anyone's words (titles, notes,
problems, timelines) never drive the agent's terminal."""

from __future__ import annotations

from api.cli_escalations import _row, printable


def test_text_from_the_server_never_drives_the_agents_terminal() -> None:
    title = "esc \x1b]0;pwned\x07\x1b[2J\x9b31mRED"  # retitle, clear, colour (C1 CSI)
    row = _row({"id": "e1", "state": "opened", "tier": 0, "severity": "low", "title": title})
    assert "\x1b" not in row and "\x07" not in row and "\x9b" not in row
    assert row.endswith("esc \\x1b]0;pwned\\x07\\x1b[2J\\x9b31mRED")
    assert printable("| a |\n| b\t|\n") == "| a |\n| b\t|\n"  # a timeline's lines stay
    assert printable("seq,at\r\n1,x\r2") == "seq,at\r\n1,x\\x0d2"  # a CSV's CRLF, no lone CR
