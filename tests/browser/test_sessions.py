"""Dashboard sessions without a browser: the secret every worker derives, the cookie's
flags (Secure behind an https proxy with BATON_TRUST_PROXY=1), CSRF on sign-in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from api import create_app
from api.ui.session import COOKIE, derive_secret
from tests.initialised_app import Client, make_client


def _csrf(client: Client, path: str = "/ui/login", **kw: Any) -> str:
    page = client.http.get(path, **kw)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _sign_in(client: Client, who: str, **kw: Any) -> Any:
    csrf = _csrf(client, **kw)
    return client.http.post("/ui/login", data={"token": client.tokens[who],
                                               "csrf_token": csrf}, **kw)


def test_every_app_on_the_same_key_accepts_the_same_session(tmp_path: Path) -> None:
    first = make_client(tmp_path)
    assert _sign_in(first, "alice").status_code == 303
    cookie = first.http.get_cookie(COOKIE, path="/ui")
    assert cookie is not None
    # Another worker: a second app on the same database and key file.
    second = create_app(dict(first.app.config))
    other = second.test_client()
    other.set_cookie(COOKIE, cookie.value, path="/ui")
    assert other.get("/ui/").status_code == 200
    # The session lives in the database: an id it does not hold is refused.
    key = Path(first.app.config["BATON_SIGNING_KEY"])
    assert derive_secret(key) != derive_secret(tmp_path / "missing") is None
    stranger = second.test_client()
    stranger.set_cookie(COOKIE, cookie.value[:-4] + "AAAA", path="/ui")
    assert stranger.get("/ui/").headers["Location"].startswith("/ui/login")


def test_the_cookie_is_httponly_samesite_and_secure_only_over_https(tmp_path: Path) -> None:
    plain = make_client(tmp_path)
    header = _sign_in(plain, "alice").headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    # The session holds the token's hash, never the token itself.
    assert plain.tokens["alice"] not in header
    proxied = create_app({**plain.app.config, "BATON_TRUST_PROXY": "1"})
    client = Client(proxied, plain.tokens)
    https = {"headers": {"X-Forwarded-Proto": "https"}}
    header = _sign_in(client, "alice", **https).headers["Set-Cookie"]
    assert "Secure" in header
    # Without BATON_TRUST_PROXY the forwarded header is not believed.
    header = _sign_in(plain, "alice", **https).headers["Set-Cookie"]
    assert "Secure" not in header


def test_signing_in_needs_the_csrf_token_and_the_api_ignores_the_cookie(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    client.http.get("/ui/login")
    refused = client.http.post("/ui/login", data={"token": client.tokens["alice"]})
    assert refused.status_code == 400
    assert _sign_in(client, "alice").status_code == 303
    assert client.http.get("/ui/").status_code == 200
    # The API stays bearer-only: a session cookie does not authenticate it.
    assert client.http.get("/api/v1/escalations").status_code == 401
    # An open redirect is not followed after signing in.
    csrf = _csrf(client)
    to = client.http.post("/ui/login", data={"token": client.tokens["alice"],
                                             "csrf_token": csrf, "next": "//evil.example/"})
    assert to.headers["Location"] == "/ui/"


def test_every_dashboard_route_refuses_signed_out_visits(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    checked = 0
    for rule in client.app.url_map.iter_rules():
        path = str(rule)
        if not path.startswith("/ui/") or rule.endpoint in (
                "ui.login", "ui.login_post", "ui.sso_login", "ui.sso_callback"):
            continue
        for arg in rule.arguments:
            path = path.replace(f"<string:{arg}>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.http.open(path, method=method)
            # Posts without a CSRF token are refused first; visits go to sign in.
            expected = 400 if method == "POST" else 303
            assert r.status_code == expected, (method, path, r.status_code)
            if method == "GET":
                assert r.headers["Location"].startswith("/ui/login?next=")
            checked += 1
    assert checked >= 9


def test_the_checkpoint_download_covers_every_event_before_it(tmp_path: Path) -> None:
    from audit.log import signed_note

    client = make_client(tmp_path)  # checkpoints every 10 events: 3 opens leave a tail
    for _ in range(3):
        client.open()
    baton = client.app.extensions["baton"]
    assert _sign_in(client, "aud").status_code == 303  # itself a ledger record
    with baton.engine.connect() as conn:
        from audit.log import ledger
        size = ledger.read_head(conn, lock=False).size
    got = client.http.get("/ui/audit/checkpoint")
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    assert signed_note.open_note(got.get_data(as_text=True), baton.vkey).size == size
    assert _sign_in(client, "alice").status_code == 303
    assert client.http.get("/ui/audit/checkpoint").status_code == 403  # not an auditor


def test_the_metrics_page_keeps_the_apis_bounds(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    client.open()
    assert _sign_in(client, "sam").status_code == 303
    today = client.app.extensions["baton"].now().date()
    shown = client.http.get(f"/ui/metrics?since={today}&until={today}")
    assert shown.status_code == 200 and "1 escalations opened" in shown.get_data(as_text=True)
    long = client.http.get(f"/ui/metrics?since={today.replace(year=today.year - 1)}"
                           f"&until={today}")
    page = long.get_data(as_text=True)
    assert long.status_code == 422 and "at most 92 days" in page and 'role="alert"' in page
