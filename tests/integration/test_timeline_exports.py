"""Timelines people open in spreadsheets and render in wikis: no formula, no HTML."""

from __future__ import annotations

import csv
import io

from audit.reads import records, timeline
from tests.integration.conftest import Ledger

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
            "\tcmd", "\r=1"]


def test_csv_cells_never_start_a_formula_and_markdown_renders_no_html(
        sqlite_led: Ledger) -> None:
    led = sqlite_led
    led.open("esc-a", title="=1+1", category="technical")
    led.act("esc-a", "alice", "acknowledge", {"note": "<script>alert(1)</script>"})
    for text in FORMULAS:
        led.act("esc-a", "alice", "update", {"note": text, "next_steps": "<b>bold</b>"})
    with led.engine.connect() as conn:
        built = timeline.build(records.history(conn, "esc-a"))

    rows = list(csv.DictReader(io.StringIO(timeline.to_csv(built), newline="")))
    texts = [r["text"] for r in rows if r["action"] == "update"]
    assert texts == [f"'{t} | <b>bold</b>" for t in FORMULAS]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row

    page = timeline.to_markdown(built)
    assert page.startswith("# Escalation esc-a: '=1+1\n")
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "| '=HYPERLINK(\"http://evil.example\",\"x\") \\| &lt;b&gt;bold&lt;/b&gt; |" in page


def test_control_characters_are_shown_not_sent_to_a_terminal(sqlite_led: Ledger) -> None:
    led = sqlite_led
    led.open("esc-c", title="\x1b]0;pwned\x07\x1b[2J", category="technical")
    led.act("esc-c", "alice", "acknowledge", {"note": "bell\x07 and \x9b31m"})
    with led.engine.connect() as conn:
        built = timeline.build(records.history(conn, "esc-c"))
    for text in (timeline.to_csv(built), timeline.to_markdown(built)):
        assert not any(ord(ch) < 32 and ch not in "\r\n" or 0x7f <= ord(ch) <= 0x9f
                       for ch in text), repr(text)
        assert "\\x1b]0;pwned\\x07\\x1b[2J" in text and "bell\\x07 and \\x9b31m" in text
