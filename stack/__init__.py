"""The one-machine stack: ``aquawatch up`` and the local services it finds, installs or starts.

This package may start anything and import any other; nothing imports it (the architecture
test holds that line), except the tests and benchmarks, which share its Mosquitto launcher.
"""

from stack.errors import StackError
from stack.services import (
    EmbeddedPostgres,
    PrivateMosquitto,
    mosquitto_binary,
    port_open,
    private_dir,
)

__all__ = [
    "EmbeddedPostgres",
    "PrivateMosquitto",
    "StackError",
    "mosquitto_binary",
    "port_open",
    "private_dir",
]
