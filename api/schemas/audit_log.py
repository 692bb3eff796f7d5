"""The audit log: its events, checkpoints, inclusion and consistency proofs, the key."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from api.schemas.common import (
    INT64_MAX,
)


class AuditArgsSchema(ma.Schema):
    escalation = f.String()
    actor = f.String()
    action = f.String()
    since = f.AwareDateTime(format="iso")
    until = f.AwareDateTime(format="iso")
    after = f.Integer(validate=v.Range(min=-1, max=INT64_MAX), metadata={
        "description": "Return events with seq greater than this"})
    limit = f.Integer(load_default=100, validate=v.Range(min=1, max=1000))


class AuditEventsSchema(ma.Schema):
    items = f.List(f.Dict())
    next_after = f.Integer(allow_none=True)


def _old_b64(name: str) -> dict[str, object]:
    """OpenAPI metadata of a hash still served in base64 beside its hex replacement."""
    return {"deprecated": True, "description": f"Deprecated: base64 of the hash; use "
                                              f"{name}_hex (hashes are hex in JSON)"}


HEX_HASH = {"description": "SHA-256 hash, lowercase hex"}


class CheckpointSchema(ma.Schema):
    size = f.Integer()
    root = f.String(metadata=_old_b64("root"))
    root_hex = f.String(metadata=HEX_HASH)
    note = f.String(metadata={"description": "C2SP signed note (tlog-checkpoint)"})


class InclusionArgsSchema(ma.Schema):
    seq = f.Integer(required=True, validate=v.Range(min=0, max=INT64_MAX))
    size = f.Integer(required=True, validate=v.Range(min=1, max=INT64_MAX))


class ConsistencyArgsSchema(ma.Schema):
    from_ = f.Integer(required=True, data_key="from", validate=v.Range(min=1, max=INT64_MAX))
    to = f.Integer(required=True, validate=v.Range(min=1, max=INT64_MAX))


class InclusionSchema(ma.Schema):
    seq = f.Integer()
    size = f.Integer()
    leaf_hash = f.String(metadata=_old_b64("leaf_hash"))
    root = f.String(metadata=_old_b64("root"))
    proof = f.List(f.String(), metadata=_old_b64("proof"))
    leaf_hash_hex = f.String(metadata=HEX_HASH)
    root_hex = f.String(metadata=HEX_HASH)
    proof_hex = f.List(f.String(), metadata=HEX_HASH)


class ConsistencySchema(ma.Schema):
    from_ = f.Integer(data_key="from", attribute="from")
    to = f.Integer()
    from_root = f.String(metadata=_old_b64("from_root"))
    to_root = f.String(metadata=_old_b64("to_root"))
    proof = f.List(f.String(), metadata=_old_b64("proof"))
    from_root_hex = f.String(metadata=HEX_HASH)
    to_root_hex = f.String(metadata=HEX_HASH)
    proof_hex = f.List(f.String(), metadata=HEX_HASH)


class PublicKeySchema(ma.Schema):
    origin = f.String()
    verifier_key = f.String(metadata={"description": "NAME+KEYID+BASE64(0x01||Ed25519 key)"})
