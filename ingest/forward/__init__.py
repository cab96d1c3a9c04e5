"""Forwarding readings upstream as Circular 10/2021 files (``aquawatch forward``)."""

from ingest.forward.forwarder import ForwardCounts, Forwarder
from ingest.forward.receivers import Receiver, Upload, load_receivers, parse_receiver_url
from ingest.forward.settings import ForwardSettings

__all__ = [
    "ForwardCounts",
    "ForwardSettings",
    "Forwarder",
    "Receiver",
    "Upload",
    "load_receivers",
    "parse_receiver_url",
]
