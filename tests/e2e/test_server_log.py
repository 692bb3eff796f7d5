"""A real server's log after writes, failures, concurrent retries and an erasure holds no
personal text, stored response or token; its SQLite files are owner-only and its WAL holds
no erased text; a retry after the erasure writes nothing (issue 15)."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from api.cli import DEMO
from api.testbed import BATON, add_actors, free_port
from tests.cli_here import set_up
from tests.e2e.conftest import prepare

TITLE = "Zebulon Quirrell-Fantastico charged twice"
NAME = "Zebulon Quirrell-Fantastico"
NOTE = "called Zebulon on +44 7700 900123"
EMAIL = "zebulon.q@example.com"
FAIL_STORING = {
    True: ["CREATE TRIGGER fail_storing BEFORE INSERT ON idempotency "
           "BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    False: ["CREATE FUNCTION fail_storing() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER fail_storing BEFORE INSERT ON idempotency "
            "FOR EACH ROW EXECUTE FUNCTION fail_storing()"],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def logged(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict, Path]]:
    env = prepare(request, tmp_path)
    set_up(env, "init", "--simulation")
    tokens = add_actors(env, DEMO)
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*BATON, "serve", "--port", str(port), "--workers", "2"],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not up yet, or slow on a busy machine
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url, {"tokens": tokens, "db": tmp_path / "baton.db",
                    "sqlite": request.param == "sqlite",
                    "url": env["BATON_DATABASE_URL"], "env": env}, log
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_the_server_log_holds_no_personal_text_or_token(logged: tuple[str, dict, Path]
                                                        ) -> None:
    url, ctx, log = logged
    api = f"{url}/api/v1"

    def h(who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx['tokens'][who]}", **extra}

    body = {"title": TITLE, "description": NOTE, "category": "billing", "severity": "high",
            "customer": {"id": "cust-zq", "name": NAME},
            "amount": {"value": "100.00", "currency": "USD"}}
    first = requests.post(f"{api}/escalations", json=body, headers=h("alice", **{
        "Idempotency-Key": "zq-open"}), timeout=30)
    assert first.status_code == 201, first.text
    eid = first.json()["id"]
    ack = f"{api}/escalations/{eid}/actions/acknowledge"
    # Concurrent retries of one key, then inputs that have reached a 500 before.
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(requests.post(
        ack, json={"note": NOTE}, headers=h("alice", **{"Idempotency-Key": "zq-ack"}),
        timeout=30).status_code)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 200 in answers
    # A customer's feedback link is a capability: it must not reach the access log.
    resolved = requests.post(f"{api}/escalations/{eid}/actions/resolve",
                             json={"summary": NOTE}, headers=h("alice"), timeout=30)
    assert resolved.status_code == 200, resolved.text
    link = requests.post(f"{api}/escalations/{eid}/feedback-link", headers=h("alice"),
                         timeout=30).json()["link"]
    feedback_token = link.rsplit("/", 1)[1]
    assert requests.get(f"{url}/feedback/{feedback_token}", timeout=30).status_code == 200
    # An identity provider names people by their userName, here an email address: its
    # lookup, the person it provisions and their trail must not put it in the log.
    scim = subprocess.run([*BATON, "scim", "token"], cwd=log.parent, env=ctx["env"],
                          check=True, capture_output=True, text=True).stdout.strip()
    sh = {"Authorization": f"Bearer {scim}"}
    looked = requests.get(f"{url}/scim/v2/Users", params={"filter": f'userName eq "{EMAIL}"'},
                          headers=sh, timeout=30)
    assert looked.status_code == 200 and looked.json()["totalResults"] == 0, looked.text
    made = requests.post(f"{url}/scim/v2/Users", headers=sh, timeout=30, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": EMAIL,
        "active": True})
    assert made.status_code == 201, made.text
    assert requests.get(f"{url}/scim/v2/Users/{made.json()['id']}", headers=sh,
                        timeout=30).status_code == 200
    trail = requests.get(f"{api}/actors/{EMAIL}/ownership", headers=h("aud"), timeout=30)
    assert trail.status_code == 200, trail.text
    for bad in ({**body, "title": TITLE + "\x00"}, {**body, "title": TITLE + "\ud800"},
                {**body, "amount": {"value": "1" * 5000, "currency": "USD"}}):
        requests.post(f"{api}/escalations", json=bad, headers=h("alice"), timeout=30)
    requests.post(f"{api}/escalations", data='{"title": "' + NAME + '", "x": ' + "[" * 5000,
                  headers=h("alice", **{"Content-Type": "application/json"}), timeout=30)

    # A statement that fails with the stored response among its parameters (as a unique
    # violation once did): the server answers 500 and logs it, without the parameters.
    owner = create_engine(ctx["url"])
    with owner.begin() as conn:
        for statement in FAIL_STORING[ctx["sqlite"]]:
            conn.execute(text(statement))
    failed = requests.post(f"{api}/escalations", json={**body, "title": TITLE + " again"},
                           headers=h("alice", **{"Idempotency-Key": "zq-fails"}), timeout=30)
    assert failed.status_code == 500, failed.text
    with owner.begin() as conn:
        conn.execute(text("DROP TRIGGER fail_storing" + ("" if ctx["sqlite"] else
                                                          " ON idempotency")))
    owner.dispose()

    erased = requests.post(f"{api}/admin/erasures", json={"customer_id": "cust-zq"},
                           headers=h("root"), timeout=30)
    assert erased.status_code == 200, erased.text
    if ctx["sqlite"]:
        for path in ctx["db"].parent.glob("baton.db*"):
            if not path.name.endswith("writer.lock"):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
                data = path.read_bytes()
                assert NAME.encode() not in data and NOTE.encode() not in data, path
    again = requests.post(f"{api}/escalations", json=body, headers=h("alice", **{
        "Idempotency-Key": "zq-open"}), timeout=30)
    assert again.status_code == 410, again.text
    listed = requests.get(f"{api}/escalations?customer=cust-zq", headers=h("aud"),
                          timeout=30)
    assert [e["id"] for e in listed.json()["items"]] == [eid]

    time.sleep(0.5)  # let the workers' log lines reach the file
    logged_text = log.read_text(errors="replace")
    assert "POST /api/v1/admin/erasures" in logged_text  # the log is the server's, and it logs
    assert "unhandled error on POST /api/v1/escalations: sqlalchemy.exc." in logged_text
    assert "GET /feedback/[token]" in logged_text
    assert "GET /scim/v2/Users?filter=[filter]" in logged_text
    assert "GET /scim/v2/Users/[user]" in logged_text
    for secret in (NAME, NOTE, "Quirrell", feedback_token, *ctx["tokens"].values(), scim,
                   "zebulon.q", "zebulon.q%40"):
        assert secret not in logged_text, secret
