"""SCIM 2.0 provisioning at /scim/v2 (issue 28, point 4): a client token from `baton scim
token`, Users created, filtered, replaced and deactivated in both forms providers send
(Okta's and Entra ID's) and by DELETE; Groups mapped through the policy's
[identity.groups] to role and team; errors as SCIM error JSON; a deprovisioned person's
token and dashboard session refused at once and their escalations handed over."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from api.cli import main
from api.container import ACCOUNTS
from audit.store import actors, policy_refs
from audit.store.schema import escalations, ledger
from tests.initialised_app import Client, Clock, make_client
from workflow import access_scim, admin_handlers
from workflow.model import Actor

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OKTA_OFF = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
ENTRA_OFF = {"schemas": [PATCH],
             "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}


def _client(tmp_path: Path, url: str | None = None) -> tuple[Client, Any, dict[str, str]]:
    c = make_client(tmp_path, clock=Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
                    database_url=url)
    baton = c.app.extensions["baton"]
    token = access_scim.issue_token(uow=baton.uow, tokens=ACCOUNTS,
                                    actor=Actor("root", ("admin",), None), now=baton.now())
    return c, baton, {"Authorization": f"Bearer {token}"}


def _create(c: Client, auth: dict[str, str], name: str) -> Any:
    r = c.http.post("/scim/v2/Users", json={"schemas": [USER], "userName": name,
                                            "externalId": f"ext-{name}", "active": True},
                    headers=auth)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.mimetype == "application/scim+json"
    return r.json


def _join(c: Client, auth: dict[str, str], group: str, name: str) -> None:
    r = c.http.patch(f"/scim/v2/Groups/{group}", headers=auth, json={
        "schemas": [PATCH], "Operations": [{"op": "Add", "path": "members",
                                            "value": [{"value": name}]}]})
    assert r.status_code == 200, r.get_data(as_text=True)


def _access(baton: Any, handle: str) -> list[dict[str, Any]]:
    with baton.engine.connect() as conn:
        bodies = policy_refs.records(conn, [b for (b,) in conn.execute(
            select(ledger.c.body).where(ledger.c.action.like("access-%")))])
    return [b for b in bodies if b["payload"]["subject"] == handle]


def test_users_groups_and_both_deactivation_forms(tmp_path: Path, database_url: str) -> None:
    c, baton, auth = _client(tmp_path, database_url)
    for name in ("okta1", "entra1", "gone1"):
        made = _create(c, auth, name)
        assert (made["id"], made["active"], made["externalId"]) == (name, True, f"ext-{name}")
        _join(c, auth, "Baton%20Finance", name)
    found = c.http.get("/scim/v2/Users", query_string={"filter": 'userName eq "okta1"'},
                       headers=auth).json
    assert found["totalResults"] == 1 and found["Resources"][0]["userName"] == "okta1"
    assert found["Resources"][0]["groups"][0]["value"] == "Baton Finance"
    granted = _access(baton, "okta1")[-1]
    assert (granted["action"], granted["payload"]["roles"], granted["payload"]["team"],
            granted["payload"]["path"]) == ("access-changed", ["finance"], "finance", "scim")
    for name, body in (("okta1", OKTA_OFF), ("entra1", ENTRA_OFF)):
        r = c.http.patch(f"/scim/v2/Users/{name}", json=body, headers=auth)
        assert r.status_code == 200 and r.json["active"] is False, r.get_data(as_text=True)
        assert _access(baton, name)[-1]["action"] == "access-revoked"
    assert c.http.delete("/scim/v2/Users/gone1", headers=auth).status_code == 204
    kept = c.http.get("/scim/v2/Users/gone1", headers=auth).json
    assert kept["active"] is False  # deactivated, never deleted
    replaced = c.http.put("/scim/v2/Users/gone1", headers=auth, json={
        "schemas": [USER], "userName": "gone1", "active": True})
    assert replaced.status_code == 200 and replaced.json["active"] is True
    assert _access(baton, "gone1")[-1]["payload"]["roles"] == ["finance"]
    baton.engine.dispose()


def test_errors_are_scim_errors(tmp_path: Path) -> None:
    c, baton, auth = _client(tmp_path)
    _create(c, auth, "dup")
    cases = [
        (c.http.get("/scim/v2/Users", headers={"Authorization": "Bearer nope"}), 401, None),
        (c.http.get("/scim/v2/Users/nobody", headers=auth), 404, None),
        (c.http.post("/scim/v2/Users", json={"schemas": [USER], "userName": "dup"},
                     headers=auth), 409, "uniqueness"),
        (c.http.get("/scim/v2/Users", query_string={"filter": 'emails co "x"'},
                    headers=auth), 400, "invalidFilter"),
        (c.http.post("/scim/v2/Users", data="{", headers=auth,
                     content_type="application/scim+json"), 400, "invalidSyntax"),
        (c.http.post("/scim/v2/Users", data="{", headers=auth), 415, None),
        (c.http.patch("/scim/v2/Users/dup", json={"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "active", "value": "maybe"}]}, headers=auth), 400,
         "invalidValue"),
        (c.http.get("/scim/v2/Groups/Nope", headers=auth), 404, None),
        (c.http.get("/scim/v2/Bogus", headers=auth), 404, None),
    ]
    for r, status, scim_type in cases:
        assert r.status_code == status, r.get_data(as_text=True)
        assert r.json["schemas"] == [ERROR] and r.json["status"] == str(status)
        assert r.json.get("scimType") == scim_type
    config = c.http.get("/scim/v2/ServiceProviderConfig", headers=auth).json
    assert config["patch"]["supported"] is True
    # What providers send: application/scim+json bodies (RFC 7644 3.1)
    made = c.http.post("/scim/v2/Users", headers=auth, content_type="application/scim+json",
                       data=json.dumps({"schemas": [USER], "userName": "sam2"}))
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.json["userName"] == "sam2"


def test_token_revoked_and_deprovisioning_ends_sessions_and_hands_over(
        tmp_path: Path) -> None:
    c, baton, auth = _client(tmp_path)
    admin_handlers.record_genesis(uow=baton.uow, accounts=ACCOUNTS, now=baton.now())
    eid = c.open("alice")
    assert c.act(eid, "alice", "acknowledge", {"note": "mine"}).status_code == 200
    browser = c.app.test_client()
    page = browser.get("/ui/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    browser.post("/ui/login", data={"token": c.tokens["alice"], "csrf_token": csrf})
    assert browser.get("/ui/").status_code == 200
    r = c.http.patch("/scim/v2/Users/alice", json=ENTRA_OFF, headers=auth)
    assert r.status_code == 200, r.get_data(as_text=True)
    # Within one request: the token and the dashboard session are refused.
    assert c.get("/escalations", "alice").status_code == 401
    assert browser.get("/ui/").status_code in (302, 303)
    with baton.engine.connect() as conn:
        row = conn.execute(select(escalations.c.owner).where(escalations.c.id == eid)).one()
        assert row.owner == "andy"
        assert conn.execute(select(escalations.c.id).where(
            escalations.c.owner.is_(None))).all() == []
        assert actors.row(conn, "alice") is not None  # kept for the record
        ended = conn.execute(select(ledger.c.action).where(
            ledger.c.action == "dashboard-signed-out")).all()
    assert len(ended) == 1
    # Revoking the SCIM token (CLI) closes the door.
    env = {"BATON_DATABASE_URL": baton.settings["BATON_DATABASE_URL"],
           "BATON_SIGNING_KEY": baton.settings["BATON_SIGNING_KEY"]}
    listed = CliRunner().invoke(main, ["scim", "tokens"], env=env)
    prefix = json.loads(listed.stdout.splitlines()[0])["token"]
    done = CliRunner().invoke(main, ["scim", "revoke", prefix], env=env)
    assert done.exit_code == 0, done.output
    assert c.http.get("/scim/v2/Users", headers=auth).status_code == 401
