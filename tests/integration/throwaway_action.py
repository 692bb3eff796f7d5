"""A Baton with one throwaway action declared in a test catalogue, and what it shows:
run as `python -m tests.integration.throwaway_action DIR` (a process of its own, since the
catalogue is read once, at import); prints what each door shows of the action as JSON.
Nothing but this catalogue entry and the policy's grant of it names the action."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from workflow import action_effects as fx
from workflow import catalogue
from workflow.catalogue import FIRST, GOVERNOR, RATING, TEXT, ActionSpec, Milestone

NAME = "ask-second-look"
THROWAWAY = ActionSpec(
    NAME, "Ask the governor for a second look", fields={"note": TEXT, "urgency": RATING},
    required=("note",), template=None, transitions=fx.stays_in("live"),
    milestone=Milestone("second_look_asked", FIRST), tells=(GOVERNOR,), asks_to_act=True,
    facts={"urgency": "urgency"}, informs=True)
# The catalogue is built into the API's routes and schemas, the lifecycle and the
# policy's grants as they are imported: declare first, then import them.
catalogue.declare(THROWAWAY)

from audit.store import actor_emails  # noqa: E402
from tests.initialised_app import Client, make_client  # noqa: E402
from workflow import policy_loader  # noqa: E402


def _page(client: Client, escalation_id: str) -> str:
    """The dashboard's escalation page, signed in as alice."""
    login = client.http.get("/ui/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert csrf is not None
    client.http.post("/ui/login", data={"token": client.tokens["alice"],
                                        "csrf_token": csrf.group(1)})
    return str(client.http.get(f"/ui/escalations/{escalation_id}").text)


def shown(tmp: Path) -> dict[str, Any]:
    """Open an escalation, take the throwaway action, and read it back everywhere."""
    text = policy_loader.default_text().replace(
        'actions = ["open", "acknowledge",', f'actions = ["open", "{NAME}", "acknowledge",', 1)
    client = make_client(tmp, policy_text=text)
    baton = client.app.extensions["baton"]
    eid = client.open()
    governor = client.get(f"/escalations/{eid}", "alice").json["governor"]
    with baton.uow() as uow:
        actor_emails.set_email(uow.conn, governor, f"{governor}@example.org")
        uow.commit()
    page = _page(client, eid)
    acted = client.act(eid, "alice", NAME, {"note": "please look", "urgency": 4})
    doc = client.get("/openapi.json", "alice").json
    timeline = client.get(f"/escalations/{eid}/timeline", "alice").json
    deliveries = client.get(f"/notifications/deliveries?escalation_id={eid}", "root").json
    return {
        "name": NAME, "governor": governor,
        "status": acted.status_code, "event": acted.json.get("event"),
        "route": any(r.rule.endswith(f"/actions/{NAME}") for r in client.app.url_map.iter_rules()),
        "openapi_path": any(p.endswith(f"/actions/{NAME}") for p in doc["paths"]),
        "openapi_schema": doc["components"]["schemas"].get("AskSecondLookSchema")
        or doc["components"]["schemas"].get("AskSecondLook"),
        "form": [f'id="form-{NAME}"' in page, f'<textarea id="{NAME}-note"' in page,
                 f'<select id="{NAME}-urgency"' in page],
        "refused": client.act(eid, "alice", NAME, {"urgency": 9}).json,
        "milestone": timeline["milestones"].get("second_look_asked"),
        "timeline_events": [e for e in timeline["events"] if e["action"] == NAME],
        "notified": [e for e in timeline["events"] if e["action"] == "notified"],
        "deliveries": [(d["channel"], d["target"], d["event_type"])
                       for d in deliveries["items"]],
    }


if __name__ == "__main__":
    print(json.dumps(shown(Path(sys.argv[1])), default=str))
