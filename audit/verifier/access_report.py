"""Who held which role and team at an instant, folded from the ledger's access events:
the one fold behind `GET /api/v1/access`, `baton access report` and
`python -m audit.verifier BUNDLE --access-at T` (standard library only, so the offline
verifier answers the question from an export with no Baton installed).

Access events are ledger records without an escalation: `access-granted`,
`access-changed`, `access-revoked` (a deprovisioning), `token-issued`, `token-revoked`
and `email-changed`. Each names its `subject` (the actor whose access it is), the
`path` it came through (cli, scim, sso, genesis) and, for a change or a revocation,
what the subject held before: the fold checks that against what the log granted, so an
event that contradicts the history before it is a problem, not a silent answer.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit.log import event_record
from audit.verifier import verify_embedded

GRANTED = "access-granted"
CHANGED = "access-changed"
REVOKED = "access-revoked"
TOKEN_ISSUED = "token-issued"
TOKEN_REVOKED = "token-revoked"
EMAIL_CHANGED = "email-changed"
ACCESS_ACTIONS = (GRANTED, CHANGED, REVOKED, TOKEN_ISSUED, TOKEN_REVOKED, EMAIL_CHANGED)
COLUMNS = ("actor", "role", "team", "since", "granted_by", "path", "rule", "team_since",
           "policy_version", "seq")


def parse_at(text: str) -> datetime:
    """An RFC 3339 time (with Z or an offset); ValueError when it is not one or has no
    zone."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (add Z or an offset)")
    return moment


@dataclass
class Held:
    """What one subject holds now: each role since when, by whom, through which path."""

    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    team: str | None = None
    active: bool = True
    team_since: str | None = None


@dataclass
class AccessFold:
    """The access events folded in log order; `problems` lists the contradictions."""

    held: dict[str, Held] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def _grant(self, seq: int, body: dict[str, Any], payload: dict[str, Any],
               keep: dict[str, dict[str, Any]]) -> Held:
        how = {"since": payload.get("since") or body.get("at"), "granted_by": body.get("actor"),
               "path": payload.get("path"), "rule": body.get("rule"),
               "policy_version": body.get("policy_version"), "seq": seq}
        roles = payload.get("roles") or []
        return Held({r: keep.get(r) or dict(how) for r in roles}, payload.get("team"), True,
                    str(how["since"]))

    def _previous_matches(self, seq: int, subject: str, payload: dict[str, Any]) -> None:
        held = self.held.get(subject)
        said = payload.get("previous") or {}
        now = {"roles": sorted(held.roles), "team": held.team} if held and held.active \
            else {"roles": [], "team": None}
        if {"roles": sorted(said.get("roles") or []), "team": said.get("team")} != now:
            self.problems.append(
                f"seq {seq}: {body_action(payload)} says {subject} held {said!r}, but the "
                f"log granted {now!r}")

    def add(self, seq: int, body: dict[str, Any]) -> None:
        """Fold one access event (other actions are ignored)."""
        action = body.get("action")
        payload = body.get("payload")
        if action not in ACCESS_ACTIONS or not isinstance(payload, dict):
            return
        subject = payload.get("subject")
        if not isinstance(subject, str):
            self.problems.append(f"seq {seq}: {action} names no subject")
            return
        payload = {**payload, "_action": action}
        if action == GRANTED:
            current = self.held.get(subject)
            if current is not None and current.active and current.roles:
                self.problems.append(f"seq {seq}: {subject} granted again while holding "
                                     f"{sorted(current.roles)} (a change is access-changed)")
            self.held[subject] = self._grant(seq, body, payload, {})
        elif action == CHANGED:
            self._previous_matches(seq, subject, payload)
            before = self.held.get(subject) or Held()
            self.held[subject] = self._grant(seq, body, payload, before.roles)
            if before.team == payload.get("team"):
                self.held[subject].team_since = before.team_since
        elif action == REVOKED:
            self._previous_matches(seq, subject, payload)
            self.held[subject] = Held({}, None, False)
        elif subject not in self.held:
            self.problems.append(f"seq {seq}: {action} for {subject}, who was never "
                                 "granted access")

    def rows(self) -> list[dict[str, Any]]:
        """Who holds which role and team, one row per (actor, role), sorted."""
        out = []
        for subject in sorted(self.held):
            held = self.held[subject]
            if not held.active:
                continue
            for role in sorted(held.roles):
                out.append({"actor": subject, "role": role, "team": held.team,
                            **held.roles[role], "team_since": held.team_since})
        return out


def body_action(payload: dict[str, Any]) -> str:
    """The action a folded payload came with."""
    return str(payload.get("_action", "event"))


def fold(events: Iterable[tuple[int, dict[str, Any]]], at: datetime | None) -> AccessFold:
    """Fold (seq, signed body) pairs in log order, those in effect at instant `at`
    (None: all of them)."""
    folded = AccessFold()
    for seq, body in events:
        if at is not None:
            try:
                when = parse_at(str(_effective(body)))
            except ValueError:
                folded.problems.append(f"seq {seq}: no readable time")
                continue
            if when > at:
                continue
        folded.add(seq, body)
    return folded


def _effective(body: dict[str, Any]) -> Any:
    """When an event took effect: its time, or, for a genesis record (written when access
    began to be recorded, about an actor created before), the `since` it states."""
    payload = body.get("payload")
    if isinstance(payload, dict) and payload.get("genesis") and payload.get("since"):
        return payload["since"]
    return body.get("at")


def bundle_events(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The access events of a JSON Lines bundle (verify it first: this only reads), as
    records whatever their bytes' format."""
    policies: dict[int, str] = {}  # policy references resolve to the events before

    def policy_of(ref: int) -> str:
        return policies.get(ref, f"policy-applied at seq {ref}")

    for line in lines:
        found = _event(line)
        if found is None:
            continue
        seq, data = found
        try:
            body = event_record.record_of(data, policy_of)
        except event_record.RecordError:
            continue
        introduced = event_record.policy_introduced(body)
        if introduced is not None:
            policies[seq] = introduced
        if body.get("action") in ACCESS_ACTIONS:
            yield seq, body


def _event(line: str) -> tuple[int, bytes] | None:
    """(seq, bytes) of an event line of either bundle format; None for other lines."""
    if line.startswith(verify_embedded.EVENT_START):
        return verify_embedded.event_bytes(line)
    if not line.startswith('{"type":"event"') and '"type"' not in line[:40]:
        return None
    try:
        item = json.loads(line)
        if not isinstance(item, dict) or item.get("type") != "event":
            return None
        return int(item["seq"]), base64.b64decode(item["bytes"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table."""
    shown = [[str(r.get(c) if r.get(c) is not None else "-") for c in COLUMNS[:-2]]
             for r in rows]
    header = list(COLUMNS[:-2])
    widths = [max(len(x) for x in col) for col in zip(header, *shown, strict=False)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in [header, *shown])


def main(bundle: str, at_text: str) -> int:
    """`--access-at T` of a verified JSON Lines bundle: the access table at T on stdout;
    1 when an access event contradicts the history before it, 2 when T is no time."""
    try:
        at = parse_at(at_text)
    except ValueError as exc:
        print(f"error: --access-at: {exc}", file=sys.stderr)
        return 2
    with open(bundle, encoding="utf-8") as fh:
        if fh.read(16).startswith("BATON"):
            print("error: --access-at reads JSON Lines bundles", file=sys.stderr)
            return 2
        fh.seek(0)
        folded = fold(bundle_events(fh), at)
    print(f"access at {at_text}:")
    print(table(folded.rows()))
    for problem in folded.problems:
        print(f"FAILED: {problem}")
    return 1 if folded.problems else 0
