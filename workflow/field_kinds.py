"""Field kinds: one definition per kind of payload field, from which the payload validation
(workflow.payload_validation), the API's marshmallow field and its OpenAPI schema
(api.schemas.action_fields) and the dashboard's form control (api.ui.action_forms) are
all derived. A new kind is one entry in KINDS."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workflow.amounts import parse_amount
from workflow.durations import parse_duration
from workflow.timestamps import parse_rfc3339, rfc3339

if TYPE_CHECKING:
    from workflow.policy import Policy

TEXT = "text"  # free text: personal, kept out of the hashed bytes, erasable
TEXTS = "texts"  # a list of free texts
HANDLE = "handle"  # an actor's handle
TIER = "tier"  # a tier level of the policy
TRIGGER = "trigger"  # a trigger of the policy
BOOL = "bool"
GRANT = "grant"  # {kind, amount}: what a resolution grants
ITEMS = "items"  # debrief action items: {what, owner, due?}
CHOICE = "choice"  # one of the field's CHOICES
MOMENT = "moment"  # an RFC 3339 time with its offset
DURATION = "duration"  # a duration as the policy writes them: 90s, 10m, 2h, 1d
RATING = "rating"  # 1 to 5
REF = "ref"  # the id of something the escalation holds (a promise, an item, a link)
PROMISE = "promise"  # {kind, by | within}: a promise made with another action
# The values of each choice field, by field name.
CHOICES = {"kind": ("callback", "update", "resolution"),
           "channel": ("phone", "email", "chat", "other")}
MAX_REF = 32
MAX_TEXT = 20_000
MAX_HANDLE = 64
MAX_ITEMS = 100
MAX_TIER = 99
# A payload's duration: days, hours, minutes, seconds in that order, each a positive
# number ("90s", "10m", "2h", "1d", "1h30m"); the OpenAPI document shows the same pattern.
DURATION_PATTERN = r"^([1-9][0-9]{0,3}d)?([1-9][0-9]{0,3}h)?([1-9][0-9]{0,3}m)?([1-9][0-9]{0,4}s)?$"
GRANT_KINDS = ("refund", "credit", "goodwill", "policy-exception")
# Text holds at least one character other than white space, and no NUL.
# Blank: whitespace as both Python's and ECMAScript's \s count it (Python adds \x1c-\x1f
# and \x85, ECMAScript \ufeff), so the OpenAPI document's pattern and the check below
# agree on every string a client or a schema-driven test may send.
_BLANK = "\\s\\x00\\x1c-\\x1f\\x85\\ufeff"
NON_BLANK_PATTERN = rf"^[^\x00]*[^{_BLANK}][^\x00]*$"
_NOT_BLANK = re.compile(rf"[^{_BLANK}]")
# Descriptions of fields, for the OpenAPI document.
FIELD_DOCS = {
    "trigger": "A trigger of the policy",
    "to_tier": "The tier to escalate to (default: the category's path, else one up)",
    "workaround": "A workaround was given (containment)",
    "to": "The handle of the actor who is to own the escalation",
    "handle": "The handle of the actor concerned",
    "kind": "What is promised: a callback, an update, or the resolution",
    "by": "When it is due (RFC 3339); or give `within`",
    "within": "How soon it is due, as the policy writes durations (90s, 10m, 2h, 1d)",
    "channel": "How the customer was reached",
    "promise": "The id of the promise this contact keeps (default: every running callback "
               "or update promise)",
    "confirmed": "The customer confirms the resolution (false reopens it as a repeat)",
    "csat": "Customer satisfaction, 1 (poor) to 5 (excellent)",
    "link": "The feedback link's id (set by the link, not by hand)",
    "item": "The id of a debrief action item (GET /api/v1/actions)",
    "actions": "Action items: objects {what, owner, due?}; each names its owner (the "
               "handle who completes it) and may give a due date or time",
    "promise_made": "A promise to the customer made with the acknowledgment: {kind, "
                    "by | within} (the policy may require one for some severities)",
}
_TEXT_DOC = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
             "pattern": NON_BLANK_PATTERN}
_MOMENT_FORMAT = "must be an RFC 3339 time, e.g. 2026-03-02T14:00:00Z"

Posted = Callable[[str], str]  # a posted form's value by name ("" when absent)


# --- checks: the payload validation of each kind (ValueError says what is wrong) --------

def non_blank_text(value: object, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not _NOT_BLANK.search(value):
        raise ValueError("must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must be a non-empty list of {what}")
    if len(value) > MAX_ITEMS:
        raise ValueError(f"must hold at most {MAX_ITEMS} items")
    return value


def _bool(value: object, policy: Policy | None, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _tier(value: object, policy: Policy | None, name: str) -> int:
    assert policy is not None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("must be an integer tier")
    if not 1 <= value <= policy.max_tier:
        raise ValueError(f"tier {value} out of range 1..{policy.max_tier}")
    return value


def _trigger(value: object, policy: Policy | None, name: str) -> object:
    assert policy is not None
    if value not in policy.triggers:
        raise ValueError(f"unknown trigger; known: {', '.join(policy.triggers)}")
    return value


def _choice(value: object, policy: Policy | None, name: str) -> object:
    options = CHOICES[name]
    if value not in options:
        raise ValueError(f"must be one of {', '.join(options)}")
    return value


def _moment(value: object, policy: Policy | None = None, name: str = "") -> str:
    if not isinstance(value, str):
        raise ValueError(_MOMENT_FORMAT)
    try:
        moment = parse_rfc3339(value)
    except ValueError:
        raise ValueError(_MOMENT_FORMAT) from None
    if moment.tzinfo is None:
        raise ValueError("must give its offset, e.g. 2026-03-02T14:00:00Z")
    return rfc3339(moment)


DURATION_FORMS = ("must be a duration: a whole number of days (d), hours (h), minutes (m) or "
                  "seconds (s), largest first, no spaces, e.g. 90s, 10m, 2h, 1d or 1h30m")


def _duration(value: object, policy: Policy | None = None, name: str = "") -> int:
    if not isinstance(value, str) or not value or not re.fullmatch(DURATION_PATTERN, value):
        raise ValueError(DURATION_FORMS)
    return parse_duration(value)


def _rating(value: object, policy: Policy | None, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValueError("must be a whole number from 1 to 5")
    return value


def _promise(value: object, policy: Policy | None, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("a promise is an object {kind, by | within}")
    extra = set(value) - {"kind", "by", "within"}
    if extra:
        raise ValueError(f"unknown promise fields: {', '.join(sorted(extra))}")
    given = [k for k in ("by", "within") if value.get(k) is not None]
    if len(given) != 1:
        raise ValueError("a promise gives exactly one of by or within")
    made = {"kind": _choice(value.get("kind"), policy, "kind")}
    made[given[0]] = (_moment if given[0] == "by" else _duration)(value[given[0]])
    return made


# An action item nobody owns could never be completed: each names its owner.
ITEM_FORM = ('each action item is an object {"what": ..., "owner": "<handle>", "due": ...} '
             '(due optional: a date or an RFC 3339 time); on the dashboard, one line '
             '"handle: what to do" per item')


def _item(value: object) -> dict[str, Any]:
    """A debrief action item: {what, owner, due?} (due: a date or a time)."""
    if isinstance(value, str):
        raise ValueError(f"a plain-text item names no owner: {ITEM_FORM}")
    if not isinstance(value, dict):
        raise ValueError(ITEM_FORM)
    extra = set(value) - {"what", "owner", "due"}
    if extra:
        raise ValueError(f"unknown item fields: {', '.join(sorted(extra))}")
    due = value.get("due")
    if due is not None:
        wrong = "an item's due is a date (2026-03-31) or an RFC 3339 time"
        if not isinstance(due, str):
            raise ValueError(wrong)
        try:
            moment = parse_rfc3339(due if "T" in due else f"{due}T23:59:59Z")
        except ValueError:
            raise ValueError(wrong) from None
        if moment.tzinfo is None:
            raise ValueError("an item's due time must give its offset")
        due = rfc3339(moment)
    if value.get("owner") is None:
        raise ValueError(f"an action item names its owner: {ITEM_FORM}")
    return {"what": non_blank_text(value.get("what")),
            "owner": non_blank_text(value["owner"], MAX_HANDLE), "due": due}


def _grant(value: object, policy: Policy | None, name: str) -> dict[str, Any]:
    assert policy is not None
    if not isinstance(value, dict):
        raise ValueError("a grant is an object {kind, amount}")
    if value.get("kind") not in GRANT_KINDS:
        raise ValueError(f"grant kind must be one of {', '.join(GRANT_KINDS)}")
    extra = set(value) - {"kind", "amount"}
    if extra:
        raise ValueError(f"unknown grant fields: {', '.join(sorted(extra))}")
    amount = parse_amount(value.get("amount"))
    if amount.currency != policy.currency:
        raise ValueError(f"amounts are in {policy.currency}, the policy's currency")
    return {"kind": value["kind"], "amount": amount.to_json()}


# --- what a posted form field becomes (None: left out of the payload) -------------------

def _posted(get: Posted, name: str, policy: Policy) -> Any:
    return get(name).strip() or None


def _posted_lines(get: Posted, name: str, policy: Policy) -> Any:
    raw = get(name).strip()  # one per line (items as plain texts)
    return [line.strip() for line in raw.splitlines() if line.strip()] if raw else None


def _posted_items(get: Posted, name: str, policy: Policy) -> Any:
    """Action items, one a line as "handle: what to do" (a line without its owner is
    passed on as a text, for the payload validation to refuse with how to name one)."""
    lines = _posted_lines(get, name, policy)
    if lines is None:
        return None
    out: list[Any] = []
    for line in lines:
        owner, sep, what = line.partition(":")
        named = sep and owner.strip() and " " not in owner.strip() and what.strip()
        out.append({"what": what.strip(), "owner": owner.strip()} if named else line)
    return out


def _posted_number(get: Posted, name: str, policy: Policy) -> Any:
    raw = get(name).strip()
    # ASCII digits only, at most 18 (64 bits): `²` or 5,000 nines stay text, refused by
    # the field's check with a 422, never an int() that fails
    number = raw.isascii() and raw.isdigit() and len(raw) <= 18
    return (int(raw) if number else raw) if raw else None


def _posted_flag(get: Posted, name: str, policy: Policy) -> Any:
    return True if get(name) else None


def _posted_grant(get: Posted, name: str, policy: Policy) -> Any:
    grant_kind, value = get(f"{name}_kind").strip(), get(f"{name}_amount").strip()
    if not (grant_kind or value):
        return None
    return {"kind": grant_kind, "amount": {"value": value, "currency": policy.currency}}


# --- the definitions ---------------------------------------------------------------

@dataclass(frozen=True)
class Wire:
    """How a kind travels in JSON: what the API's schema checks and the OpenAPI document
    shows (api.schemas.action_fields builds the marshmallow field from it)."""

    type: str  # string, integer, boolean, texts (a list of strings), object, any
    length: tuple[int, int] | None = None  # a string's (each text's) length
    non_blank: bool = False
    range: tuple[int, int] | None = None
    pattern: tuple[str, str] | None = None  # (regex, the message when it does not match)
    choices_by_name: bool = False  # one of CHOICES[the field's name]
    items: tuple[int, int] | None = None  # a list's length
    checked: bool = False  # the API runs the kind's own check (kinds free of the policy)
    # The description: "field" (the field's documentation, when it has some), "erasable"
    # (the personal-data note), "field+erasable", "field!" (the field's, even empty), None.
    description: str | None = "field"
    meta: Mapping[str, Any] = field(default_factory=dict)  # more OpenAPI, e.g. format
    schema: str | None = None  # an object's nested schema


@dataclass(frozen=True)
class Control:
    """How a kind is asked for on the dashboard's action form."""

    widget: str | None  # textarea, checkbox, select, input, grant; None: not on the form
    choices: Callable[[Policy, str], tuple[str, ...]] | None = None
    read: Callable[[Posted, str, Policy], Any] = _posted


@dataclass(frozen=True)
class FieldKind:
    """One kind of payload field: its check, its JSON, its form control."""

    name: str
    check: Callable[[object, Policy | None, str], Any]
    wire: Wire
    control: Control
    needs_policy: bool = False
    personal: bool = False  # free text: committed in the ledger, the words erasable


_TEXTAREA = Control("textarea")
_KINDS = (
    FieldKind(TEXT, lambda value, policy, name: non_blank_text(value),
              Wire("string", (1, MAX_TEXT), non_blank=True, description="erasable"),
              _TEXTAREA, personal=True),
    FieldKind(TEXTS,
              lambda value, policy, name: [non_blank_text(v) for v in _list(value, "strings")],
              Wire("texts", (1, MAX_TEXT), non_blank=True, items=(1, MAX_ITEMS),
                   description="erasable"),
              Control("textarea", read=_posted_lines), personal=True),
    FieldKind(HANDLE, lambda value, policy, name: non_blank_text(value, MAX_HANDLE),
              Wire("string", (1, MAX_HANDLE), non_blank=True), Control("input")),
    FieldKind(TRIGGER, _trigger, Wire("string"),
              Control("select", lambda policy, name: tuple(policy.triggers)),
              needs_policy=True),
    FieldKind(TIER, _tier, Wire("integer", range=(1, MAX_TIER)),
              Control("select", lambda policy, name: tuple(
                  str(t.level) for t in policy.tiers if t.level >= 1), _posted_number),
              needs_policy=True),
    FieldKind(BOOL, _bool, Wire("boolean"), Control("checkbox", read=_posted_flag)),
    FieldKind(GRANT, _grant, Wire("object", description=None, schema="Grant"),
              Control("grant", lambda policy, name: GRANT_KINDS, _posted_grant),
              needs_policy=True),
    FieldKind(CHOICE, _choice, Wire("string", choices_by_name=True),
              Control("select", lambda policy, name: CHOICES[name])),
    FieldKind(MOMENT, _moment, Wire("string", checked=True, meta={"format": "date-time"}),
              Control("input")),
    # One check (the kind's own), so a wrong duration answers one message; the pattern
    # is the OpenAPI document's.
    FieldKind(DURATION, _duration,
              Wire("string", checked=True,
                   meta={"minLength": 2, "pattern": DURATION_PATTERN}), Control("input")),
    FieldKind(RATING, _rating, Wire("integer", range=(1, 5)),
              Control("select", lambda policy, name: ("1", "2", "3", "4", "5"),
                      _posted_number)),
    FieldKind(REF, lambda value, policy, name: non_blank_text(value, MAX_REF),
              Wire("string", (1, MAX_REF), non_blank=True), Control("input")),
    # A promise with another action: the API's; the page has the `promise` action.
    FieldKind(PROMISE, _promise, Wire("any", checked=True, description="field!", meta={
        "type": "object", "additionalProperties": False, "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": list(CHOICES["kind"])},
            "by": {"type": "string", "format": "date-time"},
            "within": {"type": "string", "pattern": DURATION_PATTERN, "minLength": 2}},
        "oneOf": [{"required": ["by"]}, {"required": ["within"]}]}), Control(None)),
    FieldKind(ITEMS, lambda value, policy, name: [_item(v) for v in _list(value, "items")],
              Wire("any", checked=True, description="field+erasable", meta={
                  "type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                  "items": {
                      "type": "object", "additionalProperties": False,
                      "required": ["what", "owner"],
                      "properties": {
                          "what": _TEXT_DOC,
                          "owner": {**_TEXT_DOC, "maxLength": MAX_HANDLE},
                          "due": {"type": "string", "anyOf": [{"format": "date"},
                                                              {"format": "date-time"}]}}}}),
              Control("textarea", read=_posted_items), personal=True),
)
KINDS: dict[str, FieldKind] = {kind.name: kind for kind in _KINDS}
