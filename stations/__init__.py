"""The station registry: the stations and display boards, and their sync to the database."""

from stations.errors import RegistryError
from stations.registry import (
    Board,
    Registry,
    Station,
    StationKind,
    Transport,
    load_registry,
    parse_registry,
)
from stations.sync import active_station_ids, sync_registry

__all__ = [
    "Board",
    "Registry",
    "RegistryError",
    "Station",
    "StationKind",
    "Transport",
    "active_station_ids",
    "load_registry",
    "parse_registry",
    "sync_registry",
]
