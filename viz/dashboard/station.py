"""A station's page: one time-series plot per parameter, threshold bands, QC flags, alerts.

The page itself carries no readings and no thresholds: its data source fetches them with the
officer's login token, and its adapter hands flags, alerts and threshold zones to their own
sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from html import escape
from typing import Final
from urllib.parse import urlencode

from bokeh.layouts import column
from bokeh.models import (
    CDSView,
    ColumnDataSource,
    CustomJS,
    DataRange1d,
    DatetimeTickFormatter,
    GroupFilter,
    HoverTool,
)
from bokeh.plotting import figure

from telemetry import PARAMETERS, QCFlag
from viz.dashboard.page import Page, render
from viz.dashboard.what_if_panel import what_if_panel
from viz.dashboard.widgets import POLL_MS, alert_panel, empty_source, header, json_source
from viz.messages import FLAG_KEYS, both

__all__ = ["RANGES", "StationPage", "station_page"]

RANGES: Final = ("24h", "7d", "30d")
_POINT_COLUMNS: Final = ("t", "code", "value", "colour")
_ADAPTER: Final = """
const reply = cb_data.response;
flags.data = AW.gaps(reply.flags);
zones.data = reply.bands;
alerts.data = AW.gaps(reply.alerts);
return AW.gaps(reply.series);
"""


@dataclass(frozen=True, slots=True)
class StationPage:
    """What the station page shows: the station, its range and its thresholds."""

    station_id: str
    name_vi: str
    name_en: str
    utc_offset: str
    parameters: tuple[str, ...]
    range: str  # one of RANGES, or "custom"
    start: datetime | None  # local wall clock, custom ranges only
    end: datetime | None
    zone: str = "Asia/Ho_Chi_Minh"
    rules: tuple[str, ...] = ()  # ids of the rules in force (the what-if panel)


def _plot(
    code: str,
    view: StationPage,
    *,
    series: ColumnDataSource,
    flags: ColumnDataSource,
    alerts: ColumnDataSource,
    zones: ColumnDataSource,
    x_range: DataRange1d,
) -> figure:
    p = PARAMETERS[code]
    y_range = DataRange1d()
    unit = f" ({p.unit})" if p.unit else ""
    fig = figure(
        title=f"{p.name_vi} / {p.name_en}{unit}",
        x_axis_type="datetime",
        width=1000,
        height=250,
        tools="xpan,xwheel_zoom,box_zoom,reset,save",
        x_axis_label=f"{both('local_time')} ({view.utc_offset})",
        name=f"plot:{code}",
        x_range=x_range,
        y_range=y_range,
    )
    fig.xaxis.formatter = DatetimeTickFormatter(hours="%H:%M", days="%d/%m", months="%m/%Y")
    only = CDSView(filter=GroupFilter(column_name="code", group=code))
    fig.hstrip(
        "y0", "y1", source=zones, view=only, fill_color="colour", fill_alpha=0.15, line_color=None
    )
    area = fig.varea(
        "t",
        f"{code}_lo",
        f"{code}_hi",
        source=series,
        fill_color="#9ecae1",
        fill_alpha=0.5,
        legend_label=both("min_max"),
    )
    line = fig.line("t", code, source=series, line_width=2, color="#08519c", name=f"line:{code}")
    y_range.renderers = [area, line]  # zones reach far; they must not set the scale
    fig.scatter(
        "t",
        "value",
        source=flags,
        view=only,
        marker="x",
        size=9,
        line_width=2,
        color="colour",
        legend_label="QC: "
        + " · ".join(both(FLAG_KEYS[f]) for f in (QCFlag.UNKNOWN, QCFlag.SUSPECT, QCFlag.FAIL)),
    )
    fig.scatter(
        "t",
        "value",
        source=alerts,
        view=only,
        marker="inverted_triangle",
        size=14,
        fill_color="colour",
        line_color="black",
        legend_label=both("alert_marker"),
    )
    fig.legend.orientation = "horizontal"
    fig.legend.label_text_font_size = "8pt"
    fig.add_layout(fig.legend[0], "above")
    fig.add_tools(
        HoverTool(
            renderers=[line],
            tooltips=[("", "@t{%d/%m %H:%M}"), (both("mean"), f"@{code}{{0.00}}")],
            formatters={"@t": "datetime"},
            mode="vline",
        )
    )
    return fig


def _nav(view: StationPage) -> str:
    base = f"/dashboard/stations/{view.station_id}"
    links = "".join(
        f'<a class="{"on" if r == view.range else ""}" href="{base}?range={r}">'
        f"{escape(both('range_' + r))}</a>"
        for r in RANGES
    )
    start = view.start.strftime("%Y-%m-%dT%H:%M") if view.start else ""
    end = view.end.strftime("%Y-%m-%dT%H:%M") if view.end else ""
    return f"""<div class="ranges">{links}
<form action="{base}"><input type="hidden" name="range" value="custom">
{escape(both("range_custom"))}: {escape(both("from"))}
<input type="datetime-local" name="start" value="{start}" required>
{escape(both("to"))} <input type="datetime-local" name="end" value="{end}" required>
<button type="submit">{escape(both("show"))}</button></form></div>"""


@lru_cache(maxsize=256)
def station_page(view: StationPage) -> Page:
    """The HTML of ``/dashboard/stations/{id}`` (pages hold no data, so they are cached)."""
    columns = ["t"] + [f"{c}{s}" for c in view.parameters for s in ("", "_lo", "_hi")]
    if view.range == "custom" and view.start and view.end:
        query = urlencode({"start": view.start.isoformat(), "end": view.end.isoformat()})
        poll: int | None = None
    else:
        query, poll = urlencode({"range": view.range}), POLL_MS
    url = f"/dashboard/data/stations/{view.station_id}.json?{query}"
    series = json_source("series", url, tuple(columns), poll_ms=poll)
    flags, alerts = empty_source(_POINT_COLUMNS), empty_source(_POINT_COLUMNS)
    zones = empty_source(("code", "y0", "y1", "colour"))
    series.adapter = CustomJS(
        args={"flags": flags, "alerts": alerts, "zones": zones}, code=_ADAPTER
    )
    shared = DataRange1d()
    plots: list[figure] = []
    for code in view.parameters:
        plots.append(
            _plot(
                code, view, series=series, flags=flags, alerts=alerts, zones=zones, x_range=shared
            )
        )
    title = f"{view.name_vi} / {view.name_en} ({view.station_id})"
    crumbs = f" / {escape(view.station_id)}"
    layout = column(
        *plots,
        what_if_panel(view.station_id, rules=view.rules, zone=view.zone),
        alert_panel(f"/dashboard/data/alerts.json?station={view.station_id}"),
    )
    return render(layout, title=title, header=header(title, crumbs=crumbs, below=_nav(view)))
