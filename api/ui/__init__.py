"""The operations dashboard: server-rendered pages under /ui/ on the API's use cases,
authority decisions and read models (a page never decides anything the API would decide
differently). Signed in by a pasted token, held in a signed session cookie."""

from __future__ import annotations

import os
from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# These modules register their routes and hooks on the blueprint when imported.
import api.ui.audit_page
import api.ui.escalation_page
import api.ui.guard
import api.ui.local_time
import api.ui.login
import api.ui.metrics_page
import api.ui.new_escalation
import api.ui.queue_page  # noqa: F401
from api.ui import session as ui_session
from api.ui import sso
from api.ui.blueprint import ui


def _trust_proxy(app: Flask) -> bool:
    value = app.config.get("BATON_TRUST_PROXY", os.environ.get("BATON_TRUST_PROXY", ""))
    return str(value).strip().lower() in ("1", "true", "yes")


def init_app(app: Flask) -> None:
    """Sessions, proxy headers, the pages and their error handling."""
    app.session_interface = ui_session.SessionInterface(app.config["BATON_SIGNING_KEY"])
    app.config.update(ui_session.cookie_settings())
    app.permanent_session_lifetime = timedelta(hours=12)
    if _trust_proxy(app):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1,  # type: ignore[method-assign]
                                x_host=1, x_port=1, x_prefix=1)
    app.jinja_env.globals["csrf_token"] = ui_session.csrf_token
    app.config.setdefault("BATON_UI_REFRESH_SECONDS", 5)
    sso.init_app(app)
    app.register_blueprint(ui)
