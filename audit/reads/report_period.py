"""The period a read over many escalations covers (metrics, an actor's ownership trail),
and how long it, and how many escalations a report, may be when asked for over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow.errors import PayloadInvalid

# A quarter, as operations leads review one; longer reads are split by the caller.
MAX_PERIOD = timedelta(days=92)
# The most escalations one metrics report over HTTP reads: a quarter of a service opening
# about a hundred a day. Each costs a digest read (tens of microseconds) or, the first
# time, the fold of its history (about a millisecond): well within a worker's timeout.
MAX_ESCALATIONS = 10_000


def bounded(since: datetime | None, until: datetime | None, now: datetime
            ) -> tuple[datetime, datetime | None]:
    """The period to read: `since` defaults to MAX_PERIOD before `until` (or now), and an
    open `until` stands for now. A period longer than MAX_PERIOD is PayloadInvalid."""
    end = until if until is not None else now
    start = since if since is not None else end - MAX_PERIOD
    if end - start > MAX_PERIOD:
        raise PayloadInvalid({"since": f"the period from since to until (default: now) "
                                       f"is at most {MAX_PERIOD.days} days"})
    return start, until
