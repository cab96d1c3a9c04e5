"""Keeps the ``stations`` and ``boards`` tables in step with the registry file."""

from __future__ import annotations

import psycopg
from psycopg.rows import scalar_row

from stations.registry import Registry


def sync_registry(
    conn: psycopg.Connection[tuple[object, ...]], registry: Registry, *, deactivate_missing: bool
) -> int:
    """Upsert the registry's stations and boards in one transaction.

    Args:
        conn: An open connection.
        registry: What the stations file says.
        deactivate_missing: Mark stations absent from the registry inactive (the ingester
            then rejects their messages). Off when adding load-test clones.

    Returns:
        The number of stations written.
    """
    stations = list(registry.stations.values())
    boards = list(registry.boards.values())
    with conn.transaction():
        conn.execute(
            "INSERT INTO stations (id, kind, name_vi, name_en, district, latitude, longitude,"
            " timezone, sampling_interval_s, parameters, example_site, clone_of, active,"
            " file_code, transport, province, former_province)"
            " SELECT s.id, s.kind, s.name_vi, s.name_en, s.district, s.latitude, s.longitude,"
            "  s.timezone, s.interval, string_to_array(s.params, ','), s.example, s.clone_of, true,"
            "  s.file_code, s.transport, s.province, s.former_province"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            "  %s::float8[], %s::float8[], %s::text[], %s::int[], %s::text[], %s::bool[],"
            "  %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
            "  AS s(id, kind, name_vi, name_en, district, latitude, longitude,"
            "  timezone, interval, params, example, clone_of, file_code, transport, province,"
            "  former_province)"
            " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name_vi = excluded.name_vi,"
            "  name_en = excluded.name_en, district = excluded.district,"
            "  latitude = excluded.latitude, longitude = excluded.longitude,"
            "  timezone = excluded.timezone, sampling_interval_s = excluded.sampling_interval_s,"
            "  parameters = excluded.parameters, example_site = excluded.example_site,"
            "  clone_of = excluded.clone_of, active = true, file_code = excluded.file_code,"
            "  transport = excluded.transport, province = excluded.province,"
            "  former_province = excluded.former_province, updated_at = now()",
            (
                [s.id for s in stations],
                [s.kind.value for s in stations],
                [s.name_vi for s in stations],
                [s.name_en for s in stations],
                [s.district for s in stations],
                [s.latitude for s in stations],
                [s.longitude for s in stations],
                [s.timezone for s in stations],
                [s.sampling_interval_s for s in stations],
                [",".join(s.parameters) for s in stations],
                [s.example_site for s in stations],
                [s.clone_of for s in stations],
                [s.code for s in stations],
                [s.transport.value for s in stations],
                [s.province for s in stations],
                [s.former_province for s in stations],
            ),
        )
        if deactivate_missing:
            conn.execute(
                "UPDATE stations SET active = false, updated_at = now()"
                " WHERE active AND NOT (id = ANY(%s))",
                ([s.id for s in stations],),
            )
        if boards:
            conn.execute(
                "INSERT INTO boards (id, name_vi, name_en, location, latitude, longitude, stations)"
                " SELECT b.id, b.name_vi, b.name_en, b.location, b.latitude, b.longitude,"
                "  string_to_array(b.stations, ',')"
                " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[],"
                "  %s::float8[], %s::text[])"
                "  AS b(id, name_vi, name_en, location, latitude, longitude, stations)"
                " ON CONFLICT (id) DO UPDATE SET name_vi = excluded.name_vi,"
                "  name_en = excluded.name_en, location = excluded.location,"
                "  latitude = excluded.latitude, longitude = excluded.longitude,"
                "  stations = excluded.stations, updated_at = now()",
                (
                    [b.id for b in boards],
                    [b.name_vi for b in boards],
                    [b.name_en for b in boards],
                    [b.location for b in boards],
                    [b.latitude for b in boards],
                    [b.longitude for b in boards],
                    [",".join(b.stations) for b in boards],
                ),
            )
    return len(stations)


def active_station_ids(conn: psycopg.Connection[tuple[object, ...]]) -> frozenset[str]:
    """Return the ids of the stations whose messages are accepted."""
    with conn.cursor(row_factory=scalar_row) as cur:
        return frozenset(
            str(station) for station in cur.execute("SELECT id FROM stations WHERE active")
        )
