"""Tokens for machines: an API client may present, as its bearer token, a JWT issued by
the organisation's OpenID Connect provider (BATON_OIDC_ISSUER). It is checked against the
issuer's JWKS (found by discovery), with the algorithms pinned (RS256, ES256: never
`none`, never HS*), and `kid`, `iss`, `aud` (BATON_OIDC_AUDIENCE, default the client id),
`exp` and `sub` required. Keys are cached; an unknown `kid` fetches them again at most once
a minute. A failed check is a 401 problem naming it (`check`); the provider's keys out of
reach is a 503. The claims become an actor through the policy's `[identity.groups]`
table, as a person's do (workflow.identity_claims), and nothing of the token is logged."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jwt
from flask import Flask, Response, current_app, g

from api.container import current as current_baton
from api.container import request_connection
from api.problems import problem
from audit.store import sign_on_accounts
from audit.store.sign_on_accounts import SqlSignOnAccounts
from workflow import identity_claims, sign_on
from workflow.identity_claims import IdentityRefused

ALGORITHMS = ("RS256", "ES256")
REFRESH_EVERY = 60.0  # seconds: the least time between two fetches of the keys
FETCH_TIMEOUT = 5.0
LEEWAY = 30  # seconds of clock skew allowed on exp, nbf and iat
log = logging.getLogger("baton.auth")


class Unreachable(Exception):
    """The provider's discovery document or keys could not be fetched."""


class Refused(Exception):
    """A check the token failed: `check` names it (alg, kid, signature, iss, aud, exp…)."""

    def __init__(self, check: str, detail: str):
        self.check = check
        super().__init__(detail)


def _get_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as answer:  # noqa: S310
            found = json.loads(answer.read(1 << 20))
    except (OSError, ValueError) as exc:
        raise Unreachable(f"{url}: {type(exc).__name__}") from None
    if not isinstance(found, dict):
        raise Unreachable(f"{url}: not a JSON object")
    return found


class Keys:
    """The issuer's signing keys by `kid`: fetched on first need, and again for an
    unknown `kid` at most once every REFRESH_EVERY seconds."""

    def __init__(self, issuer: str, fetch: Callable[[str], dict[str, Any]] = _get_json,
                 clock: Callable[[], float] = time.monotonic):
        self.issuer = issuer.rstrip("/")
        self._fetch, self._clock = fetch, clock
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def _discover(self) -> str:
        if self._jwks_uri is None:
            doc = self._fetch(f"{self.issuer}/.well-known/openid-configuration")
            if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
                raise Unreachable("the discovery document names another issuer")
            if not isinstance(doc.get("jwks_uri"), str):
                raise Unreachable("the discovery document has no jwks_uri")
            self._jwks_uri = doc["jwks_uri"]
        return self._jwks_uri

    def _refresh(self) -> None:
        found = self._fetch(self._discover())
        keys: dict[str, jwt.PyJWK] = {}
        for entry in found.get("keys", []) if isinstance(found.get("keys"), list) else []:
            if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
                continue  # only public keys of the pinned algorithms' kinds
            if entry.get("use", "sig") != "sig" or not isinstance(entry.get("kid"), str):
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue
        self._keys, self._fetched_at = keys, self._clock()
        self.fetches += 1

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with this id (refetching when it is unknown and the last fetch is at
        least REFRESH_EVERY old), or None."""
        with self._lock:
            if kid not in self._keys and (self._fetched_at is None or
                                          self._clock() - self._fetched_at >= REFRESH_EVERY):
                self._refresh()
            return self._keys.get(kid)


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token is a JWS in compact form (Baton's own tokens never are)."""
    return token.count(".") == 2 and token.startswith("eyJ")


def _header(token: str) -> tuple[str, str]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Refused("malformed", "the token is not a well-formed JWT") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Refused("alg", f"algorithm {str(alg)[:16]!r} is not accepted; only "
                             f"{', '.join(ALGORITHMS)}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Refused("kid", "the token's header names no key (kid)")
    return alg, kid


_CLAIM_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "exp", "the token has expired"),
    (jwt.InvalidAudienceError, "aud", "the token is not meant for Baton (aud)"),
    (jwt.InvalidIssuerError, "iss", "the token was issued by another issuer (iss)"),
    (jwt.ImmatureSignatureError, "nbf", "the token is not valid yet (nbf or iat)"),
    (jwt.InvalidSignatureError, "signature", "the token's signature does not verify"),
)


def validate(token: str, *, keys: Keys, audience: str) -> dict[str, Any]:
    """The claims of a token that passes every check; raises Refused naming the first
    failed one, or Unreachable when the keys could not be fetched."""
    alg, kid = _header(token)
    key = keys.key(kid)
    if key is None:
        raise Refused("kid", "the token's key id is not among the issuer's keys")
    if key.algorithm_name != alg:
        raise Refused("alg", "the token's algorithm is not its key's")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key=key.key, algorithms=[alg], audience=audience, issuer=keys.issuer,
            leeway=LEEWAY, options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.MissingRequiredClaimError as exc:
        raise Refused(exc.claim, f"the token has no {exc.claim!r} claim") from None
    except jwt.PyJWTError as exc:
        for kind, check, detail in _CLAIM_ERRORS:
            if isinstance(exc, kind):
                raise Refused(check, detail) from None
        raise Refused("signature", "the token does not verify with its key") from None
    return claims


def _keys() -> Keys:
    found: Keys = current_app.extensions["baton_jwt_keys"]
    return found


def _actor(claims: dict[str, Any]) -> Response | None:
    baton = current_baton()
    conn = request_connection()
    actor = identity_claims.actor_of(claims, baton.policy(conn))
    key = identity_claims.identity_key(_keys().issuer, str(claims["sub"]))
    stored = sign_on_accounts.bound(conn, key)
    if stored is None or (stored.roles, stored.team) != (actor.roles, actor.team):
        actor = sign_on.enrol(uow=baton.uow, accounts=SqlSignOnAccounts, actor=actor,
                              key=key, now=baton.now())
    elif stored.handle != actor.handle:
        actor = replace(actor, handle=stored.handle)  # bound under the handle it first had
    g.actor = actor
    return None


def authenticate(token: str) -> Response | None:
    """Authenticate a JWT bearer token: g.actor set (None returned), or the problem."""
    settings = current_app.config
    audience = settings["BATON_OIDC_AUDIENCE"] or settings["BATON_OIDC_CLIENT_ID"]
    try:
        claims = validate(token, keys=_keys(), audience=audience)
    except Refused as exc:
        log.info("JWT refused: %s", exc.check)
        return problem(401, "unauthenticated", "Unauthenticated", str(exc), check=exc.check)
    except Unreachable as exc:
        log.warning("JWT not checked: the provider's keys are out of reach (%s)", exc)
        return problem(503, "identity-provider-unavailable", "Identity provider unavailable",
                       "the identity provider's keys could not be fetched; retry",
                       retry_after=5)
    try:
        return _actor(claims)
    except IdentityRefused as exc:
        return problem(403, "no-role", "No role", str(exc), check=exc.why)


def enabled() -> bool:
    """Whether JWTs are accepted (BATON_OIDC_ISSUER is set)."""
    return "baton_jwt_keys" in current_app.extensions


def init_app(app: Flask) -> None:
    """Accept the provider's JWTs when BATON_OIDC_ISSUER is set."""
    if app.config.get("BATON_OIDC_ISSUER"):
        app.extensions["baton_jwt_keys"] = Keys(app.config["BATON_OIDC_ISSUER"])
