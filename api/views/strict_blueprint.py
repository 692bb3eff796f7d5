"""flask-smorest's Blueprint, with query strings that refuse parameters they do not
know (webargs ignores them by default: a misspelt filter would silently match all)."""

from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser


class _StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": None, "querystring": None}


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """A Blueprint whose query arguments are loaded with their schema's own `unknown`
    (marshmallow's default: RAISE, so an unknown parameter is a 422)."""

    ARGUMENTS_PARSER = _StrictParser()
