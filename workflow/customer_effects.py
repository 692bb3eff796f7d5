"""What actions do on the customer's side: promises (and the one an acknowledgment may
make), customer contacts that keep them, feedback links and the customer's confirmation.
The catalogue (workflow/catalogue.py) names these for the actions concerned; the clocks'
names are workflow.action_effects'."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workflow.action_effects import LINK_ISSUED, LINK_USED, LINK_VOID, promise_clock, taken
from workflow.errors import NothingToChange, PayloadInvalid
from workflow.timestamps import parse_rfc3339, rfc3339

if TYPE_CHECKING:
    from workflow.escalation_state import EscalationState as Escalation
    from workflow.escalation_state import Event
    from workflow.policy import Policy


def prepare_promise(esc: Escalation, data: dict[str, Any], policy: Policy,
                    now: datetime) -> None:
    """A promise's id and deadline (by a time, or within a duration from now)."""
    due = now + timedelta(seconds=data["within"]) if "within" in data \
        else parse_rfc3339(data["by"])
    if due <= now:
        raise PayloadInvalid({"by" if "by" in data else "within": "must be in the future"})
    promise_id = f"p{esc.version}"
    data["promise_id"] = promise_id
    data["due"] = rfc3339(due)
    data["deadlines"] = {promise_clock(promise_id): data["due"]}


def prepare_new_promise(esc: Escalation, data: dict[str, Any], policy: Policy,
                        now: datetime) -> None:
    """A promise, unless the same one (kind and due time, to the second) still runs: a
    second one would be a duplicate clock, so it is refused as changing nothing."""
    prepare_promise(esc, data, policy, now)
    due = parse_rfc3339(data["due"]).replace(microsecond=0)
    for promise_id, running in esc.promises.items():
        if ("kept_at" not in running and running["kind"] == data["kind"]
                and parse_rfc3339(running["due"]).replace(microsecond=0) == due):
            raise NothingToChange("promise.duplicate",
                                  f"the same {data['kind']} promise, due {running['due']}, "
                                  f"is already running ({promise_id})", esc.state)


def prepare_acknowledge(esc: Escalation, data: dict[str, Any], policy: Policy,
                        now: datetime) -> None:
    """The policy may require a promise at acknowledgment for the severity; a promise
    given with the acknowledgment starts its clock as `promise` would."""
    promise = data.get("promise_made")
    if promise is None:
        severity = policy.severities.get(esc.severity)
        if severity is not None and severity.promise_at_acknowledge:
            raise PayloadInvalid({"promise_made": f"required: the policy asks {esc.severity} "
                                             "escalations to promise the customer something "
                                             "at acknowledgment"})
        return
    made = dict(promise)
    prepare_promise(esc, made, policy, now)
    data["promise_made"] = {"kind": made["kind"], "promise_id": made["promise_id"],
                            "due": made["due"]}
    data["deadlines"] = made["deadlines"]


def acknowledged(esc: Escalation, event: Event) -> None:
    taken(esc, event)
    promise = event.payload.get("promise_made")
    if promise:
        esc.promises[promise["promise_id"]] = {"kind": promise["kind"], "due": promise["due"]}


def promised(esc: Escalation, event: Event) -> None:
    p = event.payload
    esc.promises[p["promise_id"]] = {"kind": p["kind"], "due": p["due"]}


def prepare_contact(esc: Escalation, data: dict[str, Any], policy: Policy,
                    now: datetime) -> None:
    """Which promises a contact keeps: the one it names, else every running callback or
    update promise."""
    running = {k: v for k, v in esc.promises.items() if "kept_at" not in v}
    named = data.get("promise")
    if named is not None:
        if named not in running:
            raise PayloadInvalid({"promise": f"no running promise {named!r}; running: "
                                             f"{', '.join(running) or 'none'}"})
        data["kept"] = [named]
    else:
        data["kept"] = [k for k, v in running.items() if v["kind"] in ("callback", "update")]


def contacted(esc: Escalation, event: Event) -> None:
    for promise_id in event.payload.get("kept", []):
        esc.promises[promise_id]["kept_at"] = rfc3339(event.at)
        esc.deadlines.pop(promise_clock(promise_id), None)


def prepare_feedback_link(esc: Escalation, data: dict[str, Any], policy: Policy,
                          now: datetime) -> None:
    """A feedback link's id, and when it expires: the end of the follow-up window."""
    expires = esc.deadlines.get("follow_up")
    if expires is None:
        raise PayloadInvalid({"_": "the follow-up window has closed: there is nothing "
                                   "left for the customer to confirm"})
    data["link"] = f"l{esc.version}"
    data["expires"] = expires


def link_issued(esc: Escalation, event: Event) -> None:
    esc.feedback_links[event.payload["link"]] = LINK_ISSUED


def prepare_confirmation(esc: Escalation, data: dict[str, Any], policy: Policy,
                         now: datetime) -> None:
    """A confirmation through a feedback link needs a link issued and not yet used."""
    link = data.get("link")
    if link is None:
        return
    state = esc.feedback_links.get(link)
    if state is None:
        raise PayloadInvalid({"link": "this feedback link was never issued"})
    if state == LINK_USED:
        raise PayloadInvalid({"link": "this feedback link has been used already"})
    if state == LINK_VOID:
        raise PayloadInvalid({"link": "this feedback link was sent before the escalation "
                                      "was reopened; it no longer applies"})


def confirmation(esc: Escalation, event: Event) -> None:
    p = event.payload
    esc.confirmed = p["confirmed"]
    if p.get("link"):
        esc.feedback_links[p["link"]] = LINK_USED


def already_confirmed(esc: Escalation, p: dict[str, Any]) -> tuple[str, str] | None:
    if esc.confirmed is not None and "follow_up" not in esc.deadlines:
        return ("confirmation.done",
                "the resolution was already confirmed or its follow-up has ended")
    return None
