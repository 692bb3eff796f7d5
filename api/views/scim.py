"""SCIM 2.0 provisioning at /scim/v2 (RFC 7643, 7644), for an identity provider (Okta,
Entra ID, Keycloak): Users (create, replace, PATCH, DELETE as deactivation, filter by
`userName eq`) and Groups, the policy's `[identity.groups]` mapped to role and team.
A SCIM client presents a bearer token from `baton scim token`; every error is SCIM error
JSON (RFC 7644 3.12). The resources are scim2-models'; the use cases are
workflow.access_scim's."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, json, request
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    Group,
    GroupMember,
    GroupMembership,
    Meta,
    Patch,
    PatchOp,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    User,
)
from werkzeug.exceptions import HTTPException

from api.container import ACCOUNTS
from api.container import current as current_baton
from audit.errors import AuditError
from audit.reads import access
from audit.store import actors
from audit.store.actors import ActorError
from workflow import access_groups, access_scim
from workflow.errors import WorkflowError

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
MEDIA = "application/scim+json"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_EQ = re.compile(r'^\s*(userName|displayName)\s+eq\s+"([^"]*)"\s*$', re.IGNORECASE)
_MEMBER_PATH = re.compile(r'^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$', re.IGNORECASE)
_ERROR_STATUS: dict[type[Exception], tuple[int, str | None]] = {
    access_scim.ScimConflict: (409, "uniqueness"), access_scim.ScimNotFound: (404, None)}


class ScimProblem(Exception):
    """An RFC 7644 3.12 error: status, scimType, detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(body), status=status, mimetype=MEDIA, headers=headers)


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, detail=detail, scim_type=scim_type)
    return _json(error.model_dump(exclude_none=True), status)


@bp.errorhandler(Exception)
def _any_error(exc: Exception) -> Response:
    if isinstance(exc, ScimProblem):
        return _error(exc.status, exc.detail, exc.scim_type)
    if isinstance(exc, ValidationError):
        return _error(400, f"invalid resource: {exc.errors()[0].get('msg')}", "invalidValue")
    if isinstance(exc, HTTPException):  # a body the request guard refused is bad syntax
        return _error(exc.code or 500, exc.description or exc.name,
                      "invalidSyntax" if exc.code == 400 else None)
    status, scim_type = _ERROR_STATUS.get(type(exc), (400, "invalidValue"))
    if isinstance(exc, WorkflowError):
        return _error(status, str(exc), scim_type)
    if isinstance(exc, ActorError):
        return _error(400, str(exc), "invalidValue")
    if isinstance(exc, AuditError):  # the store is unavailable or refused: retry later
        return _error(503, "the store could not answer; retry", None)
    raise exc


@bp.before_request
def _client() -> Response | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    baton = current_baton()
    with baton.engine.connect() as conn:
        known = scheme.lower() == "bearer" and actors.scim_client(conn, token.strip())
    if not known:
        return _error(401, "send Authorization: Bearer with a token from `baton scim token`")
    return None


def _base() -> str:
    return request.host_url.rstrip("/") + "/scim/v2"


def _user_out(found: dict[str, Any]) -> dict[str, Any]:
    user: User = User(id=found["handle"], user_name=found["handle"],
                external_id=found["external_id"], active=found["active"],
                groups=[GroupMembership(value=g, display=g)  # type: ignore[call-arg]
                        for g in found["groups"]] or None,
                meta=Meta(resource_type="User", location=f"{_base()}/Users/{found['handle']}"))
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, exclude_none=True)


def _read_user(handle: str) -> dict[str, Any]:
    with current_baton().engine.connect() as conn:
        found = access.scim_user(conn, handle)
    if found is None:
        raise ScimProblem(404, f"no user {handle!r}")
    return _user_out(found)


def _body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ScimProblem(400, "the body is not a JSON object", "invalidSyntax")
    return body


def _page() -> tuple[int, int]:
    try:
        start = max(1, int(request.args.get("startIndex", 1)))
        count = max(0, min(200, int(request.args.get("count", 100))))
    except ValueError:
        raise ScimProblem(400, "startIndex and count are integers", "invalidValue") from None
    return start, count


def _filter(attribute: str) -> str | None:
    text = request.args.get("filter")
    if text is None:
        return None
    found = _EQ.match(text)
    if found is None or found.group(1).lower() != attribute.lower():
        raise ScimProblem(400, f'only `{attribute} eq "..."` filters are supported',
                          "invalidFilter")
    return found.group(2)


def _listed(resources: list[dict[str, Any]], total: int, start: int) -> Response:
    return _json({"schemas": [LIST], "totalResults": total, "startIndex": start,
                  "itemsPerPage": len(resources), "Resources": resources})


@bp.route("/Users", methods=["GET", "POST"], endpoint="users")
def users() -> Response:
    """List people (`filter=userName eq "x"`), or provision one (201)."""
    baton = current_baton()
    if request.method == "GET":
        start, count = _page()
        with baton.engine.connect() as conn:
            total, found = access.scim_users(conn, _filter("userName"), start, count)
        return _listed([_user_out(u) for u in found], total, start)
    user: User = User.model_validate(_body(), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    handle = _handle(user.user_name)
    access_scim.create_user(uow=baton.uow, accounts=ACCOUNTS, handle=handle,
                            external_id=user.external_id, active=user.active is not False,
                            now=baton.now())
    shown = _read_user(handle)
    return _json(shown, 201, Location=shown["meta"]["location"])


def _handle(user_name: Any) -> str:
    if not isinstance(user_name, str) or not re.fullmatch(r"[A-Za-z0-9._@+-]{1,64}",
                                                          user_name):
        raise ScimProblem(400, "userName: 1 to 64 letters, digits or . _ @ + -",
                          "invalidValue")
    return user_name


def _active(value: Any) -> bool:
    """SCIM's active: a boolean, or Entra ID's "True"/"False" strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimProblem(400, f"active must be a boolean, not {value!r}", "invalidValue")


def _patched(body: dict[str, Any]) -> tuple[bool | None, tuple[bool, str | None]]:
    """What a PATCH of a User changes: active (None: unchanged) and the externalId."""
    patch = PatchOp[User].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    active: bool | None = None
    external: tuple[bool, str | None] = (False, None)
    for op in patch.operations or []:
        kind = str(op.op.value).lower()
        path = (op.path or "").strip()
        values = op.value if not path and isinstance(op.value, dict) else {path: op.value}
        for key, value in values.items():
            if key.lower() == "active" and kind in ("replace", "add"):
                active = _active(value)
            elif key.lower() == "externalid":
                external = (True, None if kind == "remove" else value)
    return active, external


@bp.route("/Users/<string:handle>", methods=["GET", "PUT", "PATCH", "DELETE"],
          endpoint="user")
def user(handle: str) -> Response:
    """One person: read, replace, patch (active, externalId), or DELETE (deactivates:
    the actor stays on the record)."""
    baton = current_baton()
    if request.method == "GET":
        return _json(_read_user(handle))
    if request.method == "DELETE":
        access_scim.update_user(uow=baton.uow, accounts=ACCOUNTS, handle=handle,
                                external_id=None, active=False, now=baton.now())
        return Response(status=204)
    if request.method == "PUT":
        given: User = User.model_validate(_body(),
                                          scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        if given.user_name is not None and given.user_name != handle:
            raise ScimProblem(400, "userName cannot change", "mutability")
        active: bool | None = given.active is not False
        external = (True, given.external_id)
    else:
        active, external = _patched(_body())
    access_scim.update_user(uow=baton.uow, accounts=ACCOUNTS, handle=handle,
                            external_id=external[1], active=active, now=baton.now(),
                            set_external=external[0])
    return _json(_read_user(handle))


def _group_out(name: str, members: list[str]) -> dict[str, Any]:
    group = Group(id=name, display_name=name,
                  members=[GroupMember(value=h, display=h)  # type: ignore[call-arg]
                           for h in members] or None,
                  meta=Meta(resource_type="Group", location=f"{_base()}/Groups/{name}"))
    return group.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, exclude_none=True)


def _mapped() -> list[str]:
    baton = current_baton()
    with baton.engine.connect() as conn:
        return sorted(access_groups.groups(baton.policy(conn)))


@bp.route("/Groups", methods=["GET", "POST"], endpoint="groups")
def groups() -> Response:
    """The policy's mapped groups (`filter=displayName eq "x"`); groups are created by a
    policy version, not by SCIM (POST: 400 naming the policy table)."""
    if request.method == "POST":
        raise ScimProblem(400, "groups are the policy's [identity.groups]: add the group "
                               "there (a new policy version), then PATCH its members",
                          "mutability")
    wanted, (start, count) = _filter("displayName"), _page()
    names = [n for n in _mapped() if wanted is None or n == wanted]
    with current_baton().engine.connect() as conn:
        shown = [_group_out(n, access.scim_members_of(conn, n))
                 for n in names[start - 1:start - 1 + count]]
    return _listed(shown, len(names), start)


def _member_changes(body: dict[str, Any]) -> tuple[list[tuple[str, bool]], bool]:
    """A Group PATCH's member changes (handle, member?) and whether it replaces them."""
    patch = PatchOp[Group].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    changes: list[tuple[str, bool]] = []
    replace = False
    for op in patch.operations or []:
        kind, path = str(op.op.value).lower(), (op.path or "").strip()
        picked = _MEMBER_PATH.match(path)
        if picked is not None:
            changes.append((picked.group(1), kind != "remove"))
            continue
        value = op.value.get("members", []) if not path and isinstance(op.value, dict) \
            else op.value
        if path.lower() not in ("", "members") or not isinstance(value, list):
            continue  # displayName and the like: the policy names groups
        replace = replace or kind == "replace"
        changes += [(str(m.get("value")), kind != "remove") for m in value
                    if isinstance(m, dict)]
    return changes, replace


@bp.route("/Groups/<path:name>", methods=["GET", "PATCH", "PUT", "DELETE"],
          endpoint="group")
def group(name: str) -> Response:
    """One mapped group and its members; PATCH or PUT its members."""
    if name not in _mapped():
        raise ScimProblem(404, f"no mapped group {name!r} in the policy")
    baton = current_baton()
    if request.method == "DELETE":
        raise ScimProblem(400, "groups are the policy's: remove it there", "mutability")
    if request.method in ("PATCH", "PUT"):
        if request.method == "PUT":
            given = Group.model_validate(_body(), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
            changes = [(str(m.value), True) for m in given.members or []]
            replace = True
        else:
            changes, replace = _member_changes(_body())
        access_scim.set_members(uow=baton.uow, accounts=ACCOUNTS, group=name,
                                changes=changes, replace=replace, now=baton.now())
    with baton.engine.connect() as conn:
        return _json(_group_out(name, access.scim_members_of(conn, name)))


@bp.route("/<any(ServiceProviderConfig, ResourceTypes, Schemas):what>",
          methods=["GET", "POST", "PUT", "PATCH", "DELETE"], endpoint="discovery")
@bp.route("/<any(ResourceTypes, Schemas):what>/<path:item>",
          methods=["GET", "POST", "PUT", "PATCH", "DELETE"], endpoint="discovery")
def discovery(what: str, item: str | None = None) -> Response:
    """What this server supports (RFC 7644 4): read-only."""
    if request.method != "GET":
        raise ScimProblem(405, f"/{what} is read-only")
    q = Context.RESOURCE_QUERY_RESPONSE
    if what == "ServiceProviderConfig":
        return _json(_config().model_dump(scim_ctx=q, exclude_none=True))
    models: list[Any] = [User, Group]
    if what == "ResourceTypes":
        items = [ResourceType.from_resource(m).model_dump(scim_ctx=q, exclude_none=True)
                 for m in models]
    else:
        items = [m.to_schema().model_dump(scim_ctx=q, exclude_none=True) for m in models]
    if item is None:
        return _listed(items, len(items), 1)
    found = [i for i in items if i.get("id") == item]
    if not found:
        raise ScimProblem(404, f"no {what} {item!r}")
    return _json(found[0])


def _config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True), bulk=Bulk(supported=False, max_operations=0,
                                               max_payload_size=0),
        filter=Filter(supported=True, max_results=200),
        change_password=ChangePassword(supported=False), sort=Sort(supported=False),
        etag=ETag(supported=False), authentication_schemes=[AuthenticationScheme(
            type="oauthbearertoken",  # type: ignore[arg-type]
            name="Bearer token", description="A token from `baton scim token`")])


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
          endpoint="fallback")
def fallback(rest: str) -> Response:
    """Anything else under /scim/v2: a SCIM 404."""
    raise ScimProblem(404, f"no SCIM resource at /scim/v2/{rest}")
