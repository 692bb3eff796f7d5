"""The `ui` blueprint every dashboard page registers on."""

from __future__ import annotations

from flask import Blueprint

ui = Blueprint("ui", __name__, url_prefix="/ui")
