"""The catalogue's entries for what Baton records itself, never asked for through the API:
a clock's warning and breach, the acting owner's release, who was told, an erasure."""

from __future__ import annotations

from workflow import action_effects as fx
from workflow import sla_warnings
from workflow.action_spec import (
    ACTING_OWNER,
    ASSIGNS_COVER,
    BY_SYSTEM,
    GOVERNOR,
    ITEM_OWNER,
    OWNER,
    RELEASES_COVER,
    UNOWNED_TEAM,
    WATCHERS,
    ActionSpec,
)

SYSTEM_EVENTS = (
    ActionSpec("sla-warning", "A clock nears its deadline: who must act is told while "
               "there is still time", authority=BY_SYSTEM, fold=sla_warnings.warned,
               requestable=False, tells=(ITEM_OWNER, OWNER, ACTING_OWNER, UNOWNED_TEAM),
               facts={"clock": "clock", "deadline": "deadline", "threshold": "threshold",
                      "warn_at": "warn_at"}),
    ActionSpec("sla-breached", "A clock passed its deadline; an acting owner covers",
               authority=BY_SYSTEM, fold=fx.clock_breached, began="temporary-cover",
               cover=ASSIGNS_COVER, requestable=False, timeline="breaches",
               subject="acting_owner", debrief="breach", gauge="breaches",
               tells=(ITEM_OWNER, OWNER, ACTING_OWNER, GOVERNOR, WATCHERS),
               facts={"clock": "clock", "deadline": "deadline"}),
    ActionSpec("acting-owner-released", "The blocker cleared: the acting owner steps back",
               authority=BY_SYSTEM, fold=fx.acting_released, cover=RELEASES_COVER,
               requestable=False),
    ActionSpec("notified", "Who was told of an event", authority=BY_SYSTEM,
               requestable=False, informs=True),
    ActionSpec("content-erased", "Personal content erased: texts and salts deleted",
               authority=BY_SYSTEM, requestable=False),
)
