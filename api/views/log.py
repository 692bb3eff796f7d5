"""The ledger as a C2SP tiled transparency log under /log/ (c2sp.org/tlog-tiles): the
checkpoint, hash tiles and entry bundles. The checkpoint and hash tiles are public (hashes
reveal nothing); entry bundles hold customer ids, handles and amounts, so they need the
policy's `read-audit` permission unless BATON_LOG_PUBLIC=1. Every route is rate-limited
per client (BATON_LOG_RATE requests a second, 429 with Retry-After beyond)."""

from __future__ import annotations

import gzip
import os

from flask import Blueprint, Response, current_app, request
from flask.sansio.blueprints import BlueprintSetupState

from api import rate_limit
from api.container import current as current_baton
from api.container import request_connection
from api.problems import problem
from audit.log import cosignatures, ledger, tiles, witness_policy
from audit.store import actors
from workflow import services

bp = Blueprint("log", __name__, url_prefix="/log")

CHECKPOINT_TYPE = "text/plain; charset=utf-8"
TILE_TYPE = "application/octet-stream"
IMMUTABLE = "max-age=31536000, immutable"
LIMITER = "baton_log_limiter"
POLICY = "baton_witness_policy"


@bp.record_once
def _limiter(state: BlueprintSetupState) -> None:
    rate = float(state.app.config["BATON_LOG_RATE"])
    state.app.extensions[LIMITER] = rate_limit.RateLimiter(rate)


@bp.before_request
def _rate_limited() -> Response | None:
    limiter: rate_limit.RateLimiter = current_app.extensions[LIMITER]
    wait = limiter.take(request.remote_addr or "-")
    if not wait:
        return None
    return problem(429, "rate-limited", "Too Many Requests",
                   f"at most {limiter.rate:g} requests a second per client under /log/",
                   retry_after=rate_limit.retry_after(wait))


def _trust_policy(path: str) -> witness_policy.TrustPolicy:
    """The witness policy file, read again when it changes."""
    stamp = os.stat(path).st_mtime_ns
    cached = current_app.extensions.get(POLICY)
    if cached is None or cached[0] != (path, stamp):
        cached = ((path, stamp), witness_policy.load(path))
        current_app.extensions[POLICY] = cached
    found: witness_policy.TrustPolicy = cached[1]
    return found


@bp.get("/checkpoint")
def checkpoint() -> Response:
    """The log's checkpoint, a C2SP signed note (mutable: cached a few seconds at most):
    under a witness policy (BATON_WITNESS_POLICY) the newest one that meets its quorum,
    with its cosignatures; else the newest signed one."""
    path = current_baton().settings["BATON_WITNESS_POLICY"]
    conn = request_connection()
    if not path:
        text: str | None = ledger.latest_checkpoint(conn)
    else:
        text = cosignatures.served(conn, _trust_policy(path))
    if text is None:
        return problem(404, "not-found", "Not Found",
                       "no checkpoint has met the witness policy's quorum yet")
    return Response(text, content_type=CHECKPOINT_TYPE,
                    headers={"Cache-Control": "no-cache"})


def _may_read_entries() -> Response | None:
    """None when entries may be read: the log is public, or the bearer may read-audit."""
    baton = current_baton()
    if baton.settings["BATON_LOG_PUBLIC"]:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "unauthenticated", "Unauthenticated",
                       "entry bundles need Authorization: Bearer TOKEN of a role that may "
                       "read the audit log")
    conn = request_connection()
    actor = actors.by_token(conn, token.strip())
    if actor is None:
        return problem(401, "unauthenticated", "Unauthenticated",
                       "the token is unknown or revoked")
    services.require_permission(actor=actor, permission="read-audit",
                                policy=baton.policy(conn))
    return None


@bp.get("/tile/<path:path>")
def tile(path: str) -> Response:
    """A hash tile (public) or an entry bundle (read-audit, unless the log is public)."""
    try:
        wanted = tiles.parse_path(path)
    except tiles.NoSuchTile as exc:
        return problem(404, "not-found", "Not Found", str(exc))
    private = wanted.level == tiles.ENTRIES and not current_baton().settings[
        "BATON_LOG_PUBLIC"]
    if private and (refused := _may_read_entries()) is not None:
        return refused
    conn = request_connection()
    size = ledger.read_head(conn, lock=False).size
    try:
        data = tiles.read(conn, wanted, size)
    except tiles.NoSuchTile as exc:
        return problem(404, "not-found", "Not Found", str(exc))
    headers = {"Cache-Control": ("private, " if private else "public, ") + IMMUTABLE}
    if wanted.level == tiles.ENTRIES:
        headers["Vary"] = "Accept-Encoding"
        if request.accept_encodings["gzip"] > 0:
            data = gzip.compress(data, mtime=0)
            headers["Content-Encoding"] = "gzip"
    return Response(data, content_type=TILE_TYPE, headers=headers)
