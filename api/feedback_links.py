"""The customer's one-time feedback links: signed tokens naming the escalation, the link
(issued on the ledger) and when it expires. Whether it was used is the ledger's to say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from api.ui.session import derive_secret

_LABEL = b"baton/feedback-link/v1"


@dataclass(frozen=True)
class Link:
    """What a valid token says."""

    escalation_id: str
    link_id: str
    expires: str


class LinkRefused(Exception):
    """A token Baton did not issue (or one altered since)."""


def _serializer(key_path: str) -> URLSafeSerializer:
    secret = derive_secret(key_path, _LABEL)
    if secret is None:
        raise LinkRefused("Baton has no signing key to check links with")
    return URLSafeSerializer(secret, salt="feedback-link")


def sign(key_path: str, escalation_id: str, link_id: str, expires: str) -> str:
    """The token of a link that was issued on the ledger."""
    return str(_serializer(key_path).dumps({"e": escalation_id, "l": link_id,
                                            "x": expires}))


def read(key_path: str, token: str) -> Link:
    """The link a token stands for; LinkRefused when it was altered or never issued."""
    try:
        data: Any = _serializer(key_path).loads(token)
    except BadSignature:
        raise LinkRefused("this link was not issued by Baton, or it was altered") from None
    if not isinstance(data, dict) or not {"e", "l", "x"} <= set(data):
        raise LinkRefused("this link was not issued by Baton")
    return Link(str(data["e"]), str(data["l"]), str(data["x"]))
