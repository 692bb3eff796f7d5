"""`baton escalations list|show|open|act|timeline`: an agent's commands, talking to a running
Baton over its HTTP API (BATON_URL and BATON_TOKEN, or --url and --token) as any other
client would: the same rules, the same problems, shown on one line with a non-zero exit.
The operator commands (actors, policy, audit, ...) work on the database directly instead."""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import click

from api.cli_context import fail

TIMEOUT = 30.0  # seconds for one request
MAX_ANSWER = 16 << 20  # bytes read of an answer: a list page or a timeline is far smaller
# Every control character (C0, DEL, C1) but a newline, a tab and the CR of a CSV's CRLF.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


@dataclass(frozen=True)
class Remote:
    """Where Baton answers and who is asking."""

    url: str
    token: str

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None,
             body: Any = None, headers: dict[str, str] | None = None) -> tuple[str, bytes]:
        """The answer's media type and bytes, or a one-line error and exit 1."""
        params = {k: v for k, v in (query or {}).items() if v is not None}
        target = f"{self.url}/api/v1{path}" + (
            "?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(target, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return answer.headers.get_content_type(), answer.read(MAX_ANSWER)
        except urllib.error.HTTPError as exc:
            fail(problem_line(exc.code, exc.read(MAX_ANSWER)))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            fail(f"cannot reach Baton at {self.url}: {reason}")
        raise AssertionError("unreachable")  # fail() exits


def printable(text: str) -> str:
    """Text from the server as a terminal may show it: control characters (ESC, BEL, the C1
    CSI ...) written as escapes, never obeyed; newlines, tabs and CRLF kept."""
    # Titles, notes and names are anyone's words: they must not retitle, clear or recolour
    # the agent's terminal, nor hide the rest of a line.
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def problem_line(status: int, raw: bytes) -> str:
    """An RFC 9457 problem as one line: its title, detail and field errors."""
    try:
        problem = json.loads(raw)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return f"HTTP {status}"
    line = str(problem.get("title") or f"HTTP {status}")
    if problem.get("detail"):
        line += f": {problem['detail']}"
    errors = problem.get("errors")
    if isinstance(errors, dict):
        said = [f"{k}: {_flat(v)}" for k, v in sorted(errors.items())]
        unsaid = [s for s in said if s not in line]  # the detail often names them already
        if unsaid:
            line += " (" + "; ".join(unsaid) + ")"
    return printable(f"{line} [{status}]".replace("\n", " "))


def _flat(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_flat(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_flat(v)}" for k, v in sorted(value.items()))
    return str(value)


def _fields(pairs: tuple[str, ...], body: str | None) -> dict[str, Any]:
    """A JSON body from --body (JSON, or @FILE) and --field NAME=VALUE pairs (a dotted NAME
    nests: customer.id=c-1; a VALUE that is a JSON object or list, true, false or null is
    taken as such, anything else as text: the API reads numbers and amounts from text)."""
    data: dict[str, Any] = {}
    if body is not None:
        text = body
        if body.startswith("@"):
            try:
                with open(body[1:], encoding="utf-8") as fh:
                    text = fh.read()
            except OSError as exc:
                fail(f"--body {body}: {exc.strerror or exc}")
        try:
            data = json.loads(text)
        except ValueError as exc:
            fail(f"--body is not JSON: {exc}")
        if not isinstance(data, dict):
            fail("--body must be a JSON object")
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            fail(f"--field {pair!r}: give NAME=VALUE")
        value: Any = raw
        if raw[:1] in ("{", "[") or raw in ("true", "false", "null"):
            try:
                value = json.loads(raw)
            except ValueError:
                fail(f"--field {pair!r}: the value is not JSON")
        *parents, last = name.split(".")
        into = data
        for part in parents:
            into = into.setdefault(part, {})
            if not isinstance(into, dict):
                fail(f"--field {pair!r}: {part} is not an object")
        into[last] = value
    return data


def _show(content_type: str, raw: bytes, as_json: bool, table: Any) -> None:
    if content_type != "application/json":
        sys.stdout.write(printable(raw.decode("utf-8", "replace")))
        return
    data = json.loads(raw)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        table(data)


def _row(e: dict[str, Any]) -> str:
    owner = e.get("acting_owner") or e.get("owner") or "-"
    offered = f" -> {e['proposed_owner']}" if e.get("proposed_owner") else ""
    breached = " BREACHED:" + ",".join(e["sla"]["breached"]) if (
        e.get("sla") or {}).get("breached") else ""
    return printable(f"{e['id']}  {e['state']:<18} t{e['tier']}  {e['severity']:<8} "
                     f"{owner}{offered}{breached}  {e.get('title') or '(erased)'}")


def _one(e: dict[str, Any]) -> None:
    click.echo(_row(e))
    sla = {k: v for k, v in (e.get("sla") or {}).items() if v and k != "breached"}
    for name, due in sla.items():
        click.echo(f"  {name}: {due}")
    click.echo(f"  version {e['version']}; you may: {', '.join(e['allowed_actions']) or '-'}")


pass_remote = click.make_pass_decorator(Remote)


@click.group("escalations")
@click.option("--url", envvar="BATON_URL", default="http://127.0.0.1:8000", show_default=True,
              help="Baton's address (BATON_URL)")
@click.option("--token", envvar="BATON_TOKEN", help="your API token (BATON_TOKEN)")
@click.pass_context
def escalations_group(ctx: click.Context, url: str, token: str | None) -> None:
    """Work on escalations through a running Baton's API, as an agent."""
    if not token:
        fail("no token: set BATON_TOKEN or pass --token")
    ctx.obj = Remote(url.rstrip("/"), token or "")


@escalations_group.command("list")
@click.option("--state")
@click.option("--owner", help="a handle, or me")
@click.option("--team")
@click.option("--category")
@click.option("--severity")
@click.option("--breached/--not-breached", default=None)
@click.option("--proposed-owner", help="a pending hand-off's proposed owner: a handle, or me")
@click.option("--handoff", type=click.Choice(["pending", "none"]))
@click.option("--search", "q", help="words that must all appear (customer, title, ...)")
@click.option("--sort", type=click.Choice(["opened", "next_due"]))
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="the API's JSON as it is")
@pass_remote
def list_(remote: Remote, as_json: bool, **query: Any) -> None:
    """Escalations matching every filter given, one line each."""
    kind, raw = remote.call("GET", "/escalations", query=query)

    def table(data: dict[str, Any]) -> None:
        for e in data["items"]:
            click.echo(_row(e))
        if data.get("next_cursor"):
            click.echo(f"(more: --limit, or the API's cursor {data['next_cursor']})")
    _show(kind, raw, as_json, table)


@escalations_group.command("show")
@click.argument("escalation_id")
@click.option("--json", "as_json", is_flag=True, help="the API's JSON as it is")
@pass_remote
def show(remote: Remote, escalation_id: str, as_json: bool) -> None:
    """One escalation: state, owner, clocks and what you may do now."""
    kind, raw = remote.call("GET", f"/escalations/{urllib.parse.quote(escalation_id)}")
    _show(kind, raw, as_json, _one)


@escalations_group.command("open")
@click.option("--title")
@click.option("--category")
@click.option("--severity")
@click.option("--customer", "customer_id", help="the customer's id")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="any other field (customer.name=..., amount.value=120, ...)")
@click.option("--body", help="the whole JSON body, or @FILE")
@click.option("--json", "as_json", is_flag=True, help="the API's JSON as it is")
@pass_remote
def open_(remote: Remote, title: str | None, category: str | None, severity: str | None,
          customer_id: str | None, fields: tuple[str, ...], body: str | None,
          as_json: bool) -> None:
    """Open an escalation; prints its id (and the line of it)."""
    data = _fields(fields, body)
    for name, value in (("title", title), ("category", category), ("severity", severity)):
        if value is not None:
            data[name] = value
    if customer_id is not None:
        data.setdefault("customer", {})["id"] = customer_id
    kind, raw = remote.call("POST", "/escalations", body=data)
    _show(kind, raw, as_json, _one)


@escalations_group.command("act")
@click.argument("escalation_id")
@click.argument("action")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="a field of the action (reason=..., to=fiona, to_tier=2, ...)")
@click.option("--body", help="the whole JSON body, or @FILE")
@click.option("--if-match", help="the version you expect (412 if it moved on)")
@click.option("--json", "as_json", is_flag=True, help="the API's JSON as it is")
@pass_remote
def act(remote: Remote, escalation_id: str, action: str, fields: tuple[str, ...],
        body: str | None, if_match: str | None, as_json: bool) -> None:
    """Take an action on an escalation, as the policy allows you."""
    headers = {"If-Match": f'"{if_match}"'} if if_match else {}
    path = (f"/escalations/{urllib.parse.quote(escalation_id)}/actions/"
            f"{urllib.parse.quote(action)}")
    kind, raw = remote.call("POST", path, body=_fields(fields, body), headers=headers)

    def done(data: dict[str, Any]) -> None:
        click.echo(f"{data['event']['action']} by {data['event']['actor']} "
                   f"(rule {data['event']['rule']}, ledger seq {data['seq']})")
        _one(data["escalation"])
    _show(kind, raw, as_json, done)


@escalations_group.command("timeline")
@click.argument("escalation_id")
@click.option("--format", "fmt", type=click.Choice(["json", "markdown", "csv"]),
              default="markdown", show_default=True)
@pass_remote
def timeline(remote: Remote, escalation_id: str, fmt: str) -> None:
    """The escalation's timeline, as a facilitator reads it."""
    kind, raw = remote.call("GET", f"/escalations/{urllib.parse.quote(escalation_id)}/timeline",
                            query={"format": fmt})
    if kind == "application/json":
        click.echo(json.dumps(json.loads(raw), indent=2, sort_keys=True))
    else:
        sys.stdout.write(printable(raw.decode("utf-8", "replace")))
