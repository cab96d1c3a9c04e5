"""Presentation: the HTTP API, officer dashboards and public display boards."""

from viz.api import Role
from viz.api.auth import Passwords
from viz.api.queries.accounts import UserIn, set_account
from viz.wqi import band, sub_indices, vn_wqi

__all__ = ["Passwords", "Role", "UserIn", "band", "set_account", "sub_indices", "vn_wqi"]
