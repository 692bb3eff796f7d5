"""The ownership trail's one fold: which spans of owner and temporary cover an event
ends and starts. The trail read model and the spans projection both follow it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflow.catalogue import ASSIGNS_COVER, CATALOGUE, RELEASES_COVER, TARGET_OWNS

OWNER = "owner"
ACTING = "acting"


@dataclass(frozen=True)
class SpanChange:
    """End the open span of `kind` (how it ended), or start one for `owner`."""

    kind: str
    owner: str | None = None  # None: end the open span; a handle: start one
    ended: str | None = None  # how the ended span ended


def span_changes(action: str, from_owner: str | None, to_owner: str | None,
                 payload: dict[str, Any], actor: str | None = None) -> list[SpanChange]:
    """The span changes of one event, in order. Ending a kind with no open span changes
    nothing."""
    spec = CATALOGUE.get(action)
    began = began_as(action)
    out: list[SpanChange] = []
    if to_owner != from_owner:
        if from_owner:
            # "acknowledged by bob" names who took it; "reassigned to andy by sam" names
            # both the new owner and who decided.
            named = spec is not None and spec.owner == TARGET_OWNS
            how = f"{began} to {to_owner} by {actor}" if named and actor else \
                f"{began} by {to_owner}"
            out.append(SpanChange(OWNER, ended=how))
        if to_owner:
            out.append(SpanChange(OWNER, owner=to_owner))
    cover = spec.cover if spec is not None else None
    covering = payload.get("acting_owner")
    if cover == ASSIGNS_COVER and covering:
        out += [SpanChange(ACTING, ended="replaced"), SpanChange(ACTING, owner=covering)]
    elif cover == RELEASES_COVER:
        out.append(SpanChange(ACTING, ended="released"))
    if spec is not None and spec.ends_ownership:
        out += [SpanChange(OWNER, ended="debriefed"), SpanChange(ACTING, ended="debriefed")]
    return out


def began_as(action: str) -> str:
    """How a span started by `action` reads on a trail."""
    spec = CATALOGUE.get(action)
    return (spec.began if spec is not None else None) or action
