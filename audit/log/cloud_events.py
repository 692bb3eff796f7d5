"""Ledger events as CloudEvents 1.0 (JSON, structured mode), for an organisation's SIEM:
the stream (GET /api/v1/audit/stream) and webhook subscriptions to `ledger.*` send the
same document for the same event.

    specversion      "1.0"
    id               ORIGIN/SEQ (unique per log; a receiver dedupes on it)
    source           the log's origin (BATON_LOG_ORIGIN, a URI reference)
    type             org.baton.<action>   (org.baton.acknowledge, org.baton.audit-read, ...)
    time             the event's time (RFC 3339)
    subject          the escalation id, for events of an escalation
    sequence         the seq, as a string (the CloudEvents sequence extension)
    datacontenttype  application/json
    data             the event's canonical record: ids and facts, with each personal or
                     free-text field only as its salted commitment (never the text, which
                     stays in the erasable content table)
"""

from __future__ import annotations

from typing import Any

SPECVERSION = "1.0"
TYPE_PREFIX = "org.baton."
MEDIA_TYPE = "application/cloudevents+json"


def cloud_event(record: dict[str, Any], origin: str) -> dict[str, Any]:
    """The CloudEvent of one ledger record (its canonical body, decoded)."""
    seq = int(record["seq"])
    event: dict[str, Any] = {
        "specversion": SPECVERSION, "id": f"{origin}/{seq}", "source": origin,
        "type": TYPE_PREFIX + str(record["action"]), "time": record["at"],
        "sequence": str(seq), "datacontenttype": "application/json", "data": record,
    }
    if record.get("escalation_id"):
        event["subject"] = record["escalation_id"]
    return event
