"""The station registry: stations, display boards, their sync to the database, and credentials."""

from stations import credentials
from stations.credentials import StoredCredential
from stations.errors import CredentialError, RegistryError
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
    "CredentialError",
    "Registry",
    "RegistryError",
    "Station",
    "StationKind",
    "StoredCredential",
    "Transport",
    "active_station_ids",
    "credentials",
    "load_registry",
    "parse_registry",
    "sync_registry",
]
