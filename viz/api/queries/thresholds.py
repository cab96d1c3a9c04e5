"""Threshold rules as the API shows and changes them: compiled rules with edits layered on.

``threshold_profiles`` holds the rules compiled from the profile files. Admins edit a
profile's rule for every station using it (``profile_edits``); officers override a rule at
one station (``threshold_overrides``). A station override wins over a profile edit, which
wins over the file. Every change names its source and is audited.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Annotated, Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from pydantic import BaseModel, Field, model_validator

from viz.api.problems import NotFoundError
from viz.api.queries.audit import record

Limit = Annotated[float, Field(ge=-1e9, le=1e9)]


class Limits(BaseModel):
    """New tier limits for a rule; at least one, each in the rule's units."""

    advisory: Limit | None = None
    warning: Limit | None = None
    critical: Limit | None = None
    source: Annotated[str, Field(min_length=3, max_length=500)]

    @model_validator(mode="after")
    def _some_limit(self) -> Limits:
        if self.advisory is None and self.warning is None and self.critical is None:
            msg = "give at least one of advisory, warning, critical"
            raise ValueError(msg)
        return self


class Origin(StrEnum):
    """Where the limits of a rule in force come from."""

    FILE = "file"
    PROFILE_EDIT = "profile_edit"
    STATION_OVERRIDE = "station_override"


@dataclass(frozen=True, slots=True)
class _Limits:
    advisory: float | None
    warning: float | None
    critical: float | None
    source: str


class Rule(BaseModel):
    """A rule in force at a station, with the origin of its limits."""

    station_id: str
    rule_id: str
    profile: str
    family: str
    quantity: str
    direction: str
    units: str
    advisory: float | None
    warning: float | None
    critical: float | None
    source: str
    origin: Origin
    changed_by: str | None
    message_vi: str
    message_en: str


_RULES = (
    "SELECT t.station_id, t.rule_id, t.profile, t.family, t.quantity, t.direction, t.units,"
    " coalesce(o.advisory, e.advisory, t.advisory) AS advisory,"
    " coalesce(o.warning, e.warning, t.warning) AS warning,"
    " coalesce(o.critical, e.critical, t.critical) AS critical,"
    " coalesce(o.source, e.source, t.source) AS source,"
    " CASE WHEN o.station_id IS NOT NULL THEN %(station_override)s::text"
    "  WHEN e.profile IS NOT NULL THEN %(profile_edit)s::text ELSE %(file)s::text END AS origin,"
    " coalesce(o.updated_by, e.updated_by) AS changed_by, t.message_vi, t.message_en"
    " FROM threshold_profiles t"
    " LEFT JOIN profile_edits e ON e.profile = t.profile AND e.rule_id = t.rule_id"
    " LEFT JOIN threshold_overrides o ON o.station_id = t.station_id AND o.rule_id = t.rule_id"
    " WHERE (%(station)s::text IS NULL OR t.station_id = %(station)s)"
    " AND (%(profile)s::text IS NULL OR t.profile = %(profile)s)"
    " AND (%(rule)s::text IS NULL OR t.rule_id = %(rule)s)"
    " ORDER BY t.station_id, t.rule_id"
)


def rules(
    conn: psycopg.Connection[Any],
    *,
    station_id: str | None = None,
    profile: str | None = None,
    rule_id: str | None = None,
) -> list[Rule]:
    """The rules in force, filtered."""
    args = {
        "station": station_id,
        "profile": profile,
        "rule": rule_id,
        "file": Origin.FILE.value,
        "profile_edit": Origin.PROFILE_EDIT.value,
        "station_override": Origin.STATION_OVERRIDE.value,
    }
    with conn.cursor(row_factory=class_row(Rule)) as cur:
        return cur.execute(_RULES, args).fetchall()


def _limits(row: _Limits | None) -> dict[str, Any] | None:
    return None if row is None else asdict(row)


def override(
    conn: psycopg.Connection[Any], station_id: str, rule_id: str, limits: Limits, *, actor: str
) -> Rule:
    """Set a station's override of one rule and audit it.

    Raises:
        NotFoundError: The station has no such rule.
    """
    with conn.transaction():
        if not rules(conn, station_id=station_id, rule_id=rule_id):
            msg = f"station {station_id!r} has no rule {rule_id!r}"
            raise NotFoundError(msg)
        _set_limits(
            conn,
            "threshold_overrides",
            ("station_id", station_id),
            rule_id,
            limits,
            actor=actor,
            action="threshold.override",
            target=f"station:{station_id}/{rule_id}",
        )
        return rules(conn, station_id=station_id, rule_id=rule_id)[0]


def remove_override(
    conn: psycopg.Connection[Any], station_id: str, rule_id: str, *, actor: str
) -> None:
    """Drop a station's override of one rule and audit it.

    Raises:
        NotFoundError: There is no such override.
    """
    with conn.transaction():
        with conn.cursor(row_factory=class_row(_Limits)) as cur:
            before = cur.execute(
                "DELETE FROM threshold_overrides WHERE station_id = %s AND rule_id = %s"
                " RETURNING advisory, warning, critical, source",
                (station_id, rule_id),
            ).fetchone()
        if before is None:
            msg = f"station {station_id!r} has no override of {rule_id!r}"
            raise NotFoundError(msg)
        record(
            conn,
            actor=actor,
            action="threshold.override_remove",
            target=f"station:{station_id}/{rule_id}",
            before=_limits(before),
            after=None,
        )


def edit_profile(
    conn: psycopg.Connection[Any], profile: str, rule_id: str, limits: Limits, *, actor: str
) -> list[Rule]:
    """Change a profile's rule for every station using it and audit it.

    Raises:
        NotFoundError: No station uses such a profile rule.
    """
    with conn.transaction():
        if not rules(conn, profile=profile, rule_id=rule_id):
            msg = f"profile {profile!r} has no rule {rule_id!r} in force"
            raise NotFoundError(msg)
        _set_limits(
            conn,
            "profile_edits",
            ("profile", profile),
            rule_id,
            limits,
            actor=actor,
            action="profile.edit",
            target=f"profile:{profile}/{rule_id}",
        )
        return rules(conn, profile=profile, rule_id=rule_id)


def _set_limits(
    conn: psycopg.Connection[Any],
    table: str,
    key: tuple[str, str],
    rule_id: str,
    limits: Limits,
    *,
    actor: str,
    action: str,
    target: str,
) -> None:
    """Upsert one row of ``table`` keyed by (``key``, rule) and audit before and after."""
    names = {"table": sql.Identifier(table), "key": sql.Identifier(key[0])}
    with conn.cursor(row_factory=class_row(_Limits)) as cur:
        before = cur.execute(
            sql.SQL(
                "SELECT advisory, warning, critical, source FROM {table}"
                " WHERE {key} = %s AND rule_id = %s FOR UPDATE"
            ).format(**names),
            (key[1], rule_id),
        ).fetchone()
    conn.execute(
        sql.SQL(
            "INSERT INTO {table} ({key}, rule_id, advisory, warning, critical, source, updated_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT ({key}, rule_id) DO UPDATE SET advisory = excluded.advisory,"
            " warning = excluded.warning, critical = excluded.critical, source = excluded.source,"
            " updated_by = excluded.updated_by, updated_at = now()"
        ).format(**names),
        (key[1], rule_id, limits.advisory, limits.warning, limits.critical, limits.source, actor),
    )
    record(
        conn,
        actor=actor,
        action=action,
        target=target,
        before=_limits(before),
        after=limits.model_dump(),
    )
