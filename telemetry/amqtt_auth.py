"""An amqtt authentication plugin that accepts every client and keeps its session.

amqtt's own anonymous plugin marks sessions anonymous, and amqtt deletes anonymous sessions
on disconnect, which would silently turn persistent sessions into clean ones. Used only by
the embedded demo broker of ``aquawatch up``.
"""

from __future__ import annotations

from dataclasses import dataclass

from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session


class AcceptAll(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
    """Accept every client without marking it anonymous."""

    @dataclass
    class Config:
        """No options."""

    async def authenticate(self, *, session: Session) -> bool:
        """Let the client in."""
        return True
