"""The HTTP API (FastAPI) for officers, integrators and display boards."""

from viz.api.app import create_app
from viz.api.auth import Role, Scope
from viz.api.settings import ApiSettings

__all__ = ["ApiSettings", "Role", "Scope", "create_app"]
