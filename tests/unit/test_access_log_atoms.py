"""The access log's atoms, built without copying every header and environ variable when
the format names none: the same line as gunicorn's own for the default format and the
usual atoms, and {…} atoms still logged when a format names them."""

from __future__ import annotations

import datetime
from typing import Any

from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from api.access_log import RedactingLogger

ENVIRON = {"REQUEST_METHOD": "POST", "RAW_URI": "/api/v1/escalations/e1?x=1",
           "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/api/v1/escalations/e1",
           "QUERY_STRING": "x=1", "REMOTE_ADDR": "10.0.0.7", "REMOTE_PORT": "5555",
           "HTTP_HOST": "baton", "HTTP_USER_AGENT": "agent/1", "HTTP_REFERER": "http://r/",
           "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz", "wsgi.url_scheme": "http"}
USUAL = ('%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s %(B)s "%(f)s" "%(a)s" %(m)s %(U)s %(q)s '
         '%(H)s %(T)s %(D)s %(M)s %(L)s %(p)s %(x)s')


class Response:
    status = "201 CREATED"
    sent = 321
    headers = [("Content-Type", "application/json"), ("ETag", '"1"')]


class Request:
    headers = [("HOST", "baton"), ("X-REQUEST-ID", "r-9")]


def line(logger_class: type[Any], fmt: str, environ: dict[str, str]) -> str:
    cfg = Config()
    cfg.set("access_log_format", fmt)
    logger = logger_class(cfg)
    logger.now = lambda: "[now]"
    atoms = logger.atoms(Response(), Request(), environ,
                         datetime.timedelta(seconds=1, microseconds=2345))
    return fmt % SafeAtoms(atoms)


def test_the_default_and_usual_atoms_log_what_gunicorn_logs() -> None:
    for fmt in (Config().access_log_format, USUAL):
        assert line(RedactingLogger, fmt, ENVIRON) == line(Logger, fmt, ENVIRON)


def test_headers_and_variables_named_by_the_format_are_logged() -> None:
    fmt = '%(h)s "%(r)s" %({x-request-id}i)s %({etag}o)s %({remote_port}e)s'
    assert line(RedactingLogger, fmt, ENVIRON) == line(Logger, fmt, ENVIRON) \
        == '10.0.0.7 "POST /api/v1/escalations/e1?x=1 HTTP/1.1" r-9 \\"1\\" 5555'


def test_a_feedback_token_is_redacted_either_way() -> None:
    environ = {**ENVIRON, "RAW_URI": "/feedback/secret-token", "HTTP_REFERER":
               "http://baton/feedback/other-token"}
    for fmt in (Config().access_log_format, '"%(r)s" %({referer}i)s %({raw_uri}e)s'):
        logged = line(RedactingLogger, fmt, environ)
        assert "token" not in logged.replace("[token]", "")


def test_scim_user_names_filters_and_addresses_are_redacted_either_way() -> None:
    environ = {**ENVIRON, "RAW_URI": "/scim/v2/Users?filter=userName%20eq%20%22ann%40x.org%22",
               "QUERY_STRING": "filter=userName%20eq%20%22ann%40x.org%22",
               "HTTP_REFERER": "http://baton/ui/?owner=bob.k%2Bq@corp.example"}
    for fmt in (Config().access_log_format, '"%(r)s" %({referer}i)s %({raw_uri}e)s'):
        logged = line(RedactingLogger, fmt, environ)
        assert "ann" not in logged and "bob.k" not in logged, logged
        assert "filter=[filter]" in logged
    assert "owner=[email]" in line(RedactingLogger, Config().access_log_format, environ)
    by_path = line(RedactingLogger, '"%(r)s"', {**environ, "RAW_URI": "/scim/v2/Users/ann.b"})
    assert by_path == '"POST /scim/v2/Users/[user] HTTP/1.1"'
