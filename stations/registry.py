"""The station registry: stations and display boards, loaded from a YAML file."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stations.errors import RegistryError
from telemetry import PARAMETERS, STATION_ID_RE, validate_yaml


class StationKind(StrEnum):
    """What a station watches; it selects the threshold profile."""

    SHRIMP_RIVER = "shrimp_river"
    CAGE_SEA = "cage_sea"
    EFFLUENT = "effluent"


class Transport(StrEnum):
    """How a station sends its readings: MQTT, Circular 10/2021 files by FTP, or both."""

    MQTT = "mqtt"
    FTP = "ftp"
    BOTH = "both"


Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Station(_Model):
    """One monitoring station."""

    id: str
    kind: StationKind
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    district: str = Field(min_length=1)
    latitude: Latitude
    longitude: Longitude
    parameters: tuple[str, ...] = Field(min_length=1)
    sampling_interval_s: int = Field(gt=0, le=86_400)
    timezone: str = "Asia/Ho_Chi_Minh"
    example_site: bool = False
    clone_of: str | None = None
    file_code: str | None = None
    """The station's code in Circular 10 file names; its id when not given."""
    transport: Transport = Transport.MQTT
    province: str | None = None
    """The province today (Kiên Giang was merged into An Giang on 1 July 2025)."""
    former_province: str | None = None
    """The province before the 2025 merger, kept for the record (``district`` is former too)."""

    @field_validator("id", "file_code")
    @classmethod
    def _id_is_topic_safe(cls, value: str | None) -> str | None:
        if value is not None and not STATION_ID_RE.fullmatch(value):
            msg = "letters, digits, '-', '_' or '.', at most 64 characters (e.g. KG-SR-01)"
            raise ValueError(msg)
        return value

    @field_validator("parameters")
    @classmethod
    def _known_parameters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if code not in PARAMETERS]
        if unknown:
            msg = f"unknown parameter code(s) {unknown}; known: {sorted(PARAMETERS)}"
            raise ValueError(msg)
        if len(set(value)) != len(value):
            msg = "a parameter is listed twice"
            raise ValueError(msg)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"an IANA time zone such as Asia/Ho_Chi_Minh, got {value!r}"
            raise ValueError(msg) from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The station's local time zone."""
        return ZoneInfo(self.timezone)

    @property
    def code(self) -> str:
        """The station's code in Circular 10 file names."""
        return self.file_code or self.id


class Board(_Model):
    """A public display board (bảng hiển thị) and the stations it shows."""

    id: str
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    location: str = Field(min_length=1)
    latitude: Latitude
    longitude: Longitude
    stations: tuple[str, ...] = Field(min_length=1)


class _RegistryFile(_Model):
    stations: tuple[Station, ...] = Field(min_length=1)
    boards: tuple[Board, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> _RegistryFile:
        ids = [s.id for s in self.stations]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            msg = f"station ids must be unique; repeated: {duplicated}"
            raise ValueError(msg)
        codes = [s.code for s in self.stations]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            msg = f"file codes (file_code, else the id) must be unique; repeated: {repeated}"
            raise ValueError(msg)
        known = set(ids)
        for board in self.boards:
            missing = [s for s in board.stations if s not in known]
            if missing:
                msg = f"board {board.id} shows unknown station(s) {missing}"
                raise ValueError(msg)
        return self


class Registry:
    """The configured stations and boards, read-only.

    Args:
        stations: The stations, in file order.
        boards: The display boards.
        source: Where the registry was read from (for messages).
    """

    def __init__(
        self, stations: tuple[Station, ...], boards: tuple[Board, ...], *, source: str
    ) -> None:
        self.stations: Mapping[str, Station] = MappingProxyType({s.id: s for s in stations})
        self.boards: Mapping[str, Board] = MappingProxyType({b.id: b for b in boards})
        self.source = source

    def __len__(self) -> int:
        return len(self.stations)

    def with_clones(self, count: int) -> Registry:
        """Return a registry of ``count`` stations for load tests.

        The first stations are the configured ones; the rest are clones of them in turn,
        with ids like ``KG-SR-01-C00007``.
        """
        if count < 1:
            msg = "at least one station"
            raise ValueError(msg)
        base = list(self.stations.values())
        stations = base[:count]
        for index in range(len(base), count):
            original = base[index % len(base)]
            stations.append(
                original.model_copy(
                    update={
                        "id": f"{original.id}-C{index:05d}",
                        "clone_of": original.id,
                        "file_code": None,
                    }
                )
            )
        return Registry(tuple(stations), tuple(self.boards.values()), source=self.source)


def parse_registry(text: str, *, source: str) -> Registry:
    """Parse registry YAML text.

    Raises:
        RegistryError: Naming ``source``, each bad field and what was expected.
    """
    parsed, problems = validate_yaml(text, _RegistryFile)
    if parsed is None:
        raise RegistryError(source, problems)
    return Registry(parsed.stations, parsed.boards, source=source)


def load_registry(path: Path | None = None) -> Registry:
    """Load the registry at ``path``, or the built-in Kiên Giang registry.

    Raises:
        RegistryError: The file is missing or invalid.
    """
    if path is None:
        text = resources.files("stations").joinpath("default.yaml").read_text("utf-8")
        return parse_registry(text, source="stations/default.yaml")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise RegistryError(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    return parse_registry(text, source=str(path))
