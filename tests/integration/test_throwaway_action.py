"""One home for what an action means (issue 24): an action declared only in a test
catalogue (tests/integration/throwaway_action.py) is served by the API with its own schema
and route, described in the OpenAPI document, offered on the dashboard as a form, marked
on the timeline, and told to whom its entry says - with no other module touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_throwaway_action_is_everywhere_its_catalogue_entry_says(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "tests.integration.throwaway_action",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    shown = json.loads(out.stdout.splitlines()[-1])
    name = shown["name"]
    # The API: its route, its schema (a required text, a rating), the event it wrote.
    assert shown["route"] and shown["status"] == 200
    assert shown["event"]["action"] == name and shown["event"]["rule"] == "role.actions"
    assert shown["refused"]["status"] == 422
    assert set(shown["refused"]["errors"]) == {"note", "urgency"}
    # The OpenAPI document: its path and its request schema.
    assert shown["openapi_path"]
    schema = shown["openapi_schema"]
    assert schema["required"] == ["note"]
    assert schema["properties"]["urgency"] == {"type": "integer", "minimum": 1, "maximum": 5}
    # The dashboard: a form with a text area for the note and a choice of urgency.
    assert shown["form"] == [True, True, True]
    # The timeline: its milestone, its text.
    [event] = shown["timeline_events"]
    assert shown["milestone"] == event["at"] and event["text"] == "please look"
    # Notifications: it asks the governor to act: mailed, and on the record.
    assert shown["deliveries"] == [["email", shown["governor"],
                                    "escalation." + name.replace("-", "_")]]
    [notice] = shown["notified"]
    assert notice["rule"] == f"notify.{name}" and notice["seq"] == event["seq"] + 1


def test_the_catalogue_refuses_a_declaration_once_it_has_been_read() -> None:
    code = "import workflow.lifecycle, tests.integration.throwaway_action"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode != 0
    assert "declare actions before anything reads the catalogue" in out.stderr
    assert "workflow.lifecycle" in out.stderr
