"""The overview: a tile-free map of the province, the stations, their latest values, alerts.

Stations, their link state and latest values are public (what the boards show); each
station's worst open alert, and the open-alert table with its actions, need a login.
"""

from __future__ import annotations

from functools import cache
from html import escape
from typing import Final

from bokeh.layouts import column, row
from bokeh.models import (
    ColumnDataSource,
    CustomJS,
    HoverTool,
    OpenURL,
    Range1d,
    TapTool,
    WMTSTileSource,
)
from bokeh.models.annotations.labels import LabelSet
from bokeh.models.widgets.markups import Div
from bokeh.models.widgets.tables import (
    DataTable,
    HTMLTemplateFormatter,
    StringFormatter,
    TableColumn,
)
from bokeh.plotting import figure

from viz.dashboard.page import Page, render
from viz.dashboard.status import STATION_COLUMNS, VALUE_COLUMNS, Link, web_mercator
from viz.dashboard.widgets import (
    GUEST,
    OFFICER,
    alert_panel,
    empty_source,
    header,
    json_source,
    live_table,
    swatch,
)
from viz.messages import both, vi

__all__ = ["overview_page"]

# Approximate outlines (lon, lat) traced around the station sites, not surveyed: the
# Kiên Giang mainland from Hà Tiên to the U Minh Thượng border, Phú Quốc and Hòn Tre.
_LAND: Final = (
    (104.45, 10.50), (104.48, 10.38), (104.60, 10.22), (104.78, 10.10), (104.95, 10.05),
    (105.07, 10.00), (105.08, 9.93), (105.03, 9.85), (104.95, 9.75), (104.86, 9.65),
    (104.80, 9.52), (105.45, 9.40), (105.62, 9.80), (105.45, 10.30), (105.10, 10.50),
)  # fmt: skip
_ISLANDS: Final = (
    (
        (103.85, 10.42), (104.02, 10.46), (104.08, 10.30), (104.05, 10.12), (104.02, 10.00),
        (103.95, 10.05), (103.88, 10.20),
    ),
    ((104.82, 9.95), (104.86, 9.95), (104.865, 9.98), (104.825, 9.985)),
)  # fmt: skip

_PUBLIC_URL: Final = "/dashboard/data/overview.json"  # no login
_WORST_URL: Final = "/dashboard/data/station_alerts.json"  # officers
_FORWARDING_URL: Final = "/dashboard/data/forwarding.json"  # officers
# Station names come from the registry file: escaped (<%- %>), never interpolated raw.
_LINK: Final = '<a href="<%- url %>" title="<%- name_en %>"><%- value %></a>'
_TITLED: Final = '<span title="<%- {english} %>"><%- value %></span>'
# The overview's stations with each one's worst open alert laid over them, once an officer's
# data has come: a station that is not online stays grey, the others take the alert's colour.
_OVERLAY: Final = """
function overlay(stations, worst) {
  const at = new Map(worst.id.map((id, i) => [id, i]));
  const alert = [], fill = [];
  stations.id.forEach((id, i) => {
    const k = at.get(id);
    alert.push(k === undefined ? "" : worst.alert[k]);
    const live = k !== undefined && stations.state[i] === online;
    fill.push(live ? worst.fill[k] : stations.status_colour[i]);
  });
  return {...stations, alert, fill};
}
"""
_STATIONS_ADAPTER: Final = (
    _OVERLAY + "values.data = cb_data.response.values;\n"
    "return overlay(cb_data.response.stations, worst.data);"
)
_WORST_ADAPTER: Final = (
    _OVERLAY + "stations.data = overlay(stations.data, cb_data.response);\nreturn cb_data.response;"
)


def _map(source: ColumnDataSource, tiles: str) -> figure:
    """The stations on tiles (Web Mercator) when a tile server is set, else on outlines."""
    if tiles:
        (left, bottom), (right, top) = web_mercator(103.75, 9.3), web_mercator(105.75, 10.6)
        fig = figure(
            title=both("map"),
            x_range=Range1d(start=left, end=right),
            y_range=Range1d(start=bottom, end=top),
            x_axis_type="mercator",
            y_axis_type="mercator",
            match_aspect=True,
            width=720,
            height=520,
            tools="pan,wheel_zoom,reset,save",
        )
        fig.add_tile(WMTSTileSource(url=tiles))
        x, y = "x", "y"
    else:
        fig = figure(
            title=both("map"),
            x_range=Range1d(start=103.75, end=105.75),
            y_range=Range1d(start=9.3, end=10.6),
            match_aspect=True,
            width=720,
            height=520,
            x_axis_label=f"{both('longitude')} (°E)",
            y_axis_label=f"{both('latitude')} (°N)",
            tools="pan,wheel_zoom,reset,save",
            background_fill_color="#d6ecf7",
        )
        outlines = (_LAND, *_ISLANDS)
        fig.patches(
            xs=[[p[0] for p in o] for o in outlines],
            ys=[[p[1] for p in o] for o in outlines],
            fill_color="#f3efe0",
            line_color="#9c8f6a",
        )
        x, y = "lon", "lat"
    dots = fig.scatter(
        x,
        y,
        source=source,
        size=22,
        fill_color="fill",
        line_color="line",
        line_width=4,
        name="stations",
    )
    fig.add_layout(
        LabelSet(
            x=x,
            y=y,
            text="id",
            source=source,
            x_offset=14,
            y_offset=-6,
            text_font_size="12pt",
            text_font_style="bold",
        )
    )
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[  # Bokeh escapes the fields of a tooltip
                (vi("station"), "@name"),
                (vi("status"), "@state_text"),
                (vi("worst_alert"), "@alert"),
                (vi("quality"), "@quality"),
                (vi("last_reading"), "@last"),
            ],
        )
    )
    fig.add_tools(TapTool(renderers=[dots], callback=OpenURL(url="@url", same_tab=True)))
    return fig


def _stations_table(source: ColumnDataSource) -> DataTable:
    return live_table(
        source,
        columns=[
            TableColumn(
                field="name",
                title=both("station"),
                formatter=HTMLTemplateFormatter(template=_LINK),
                width=230,
            ),
            TableColumn(
                field="state_text",
                title=both("status"),
                formatter=swatch("status_colour"),
                width=120,
            ),
            TableColumn(
                field="alert",
                title=both("worst_alert"),
                formatter=swatch("fill"),
                width=120,
                tags=[OFFICER],
                visible=False,
            ),
            TableColumn(
                field="wqi", title=vi("wqi_short"), formatter=swatch("wqi_colour"), width=120
            ),
            TableColumn(field="quality", title=both("quality"), width=110),
            TableColumn(field="last", title=both("last_reading"), width=100),
        ],
        width=800,
        height=220,
        index_position=None,
        name="aw:stations-table",
    )


def _values_table(source: ColumnDataSource) -> DataTable:
    return live_table(
        source,
        columns=[
            TableColumn(
                field="station_name",
                title=both("station"),
                formatter=HTMLTemplateFormatter(template=_TITLED.format(english="station_name_en")),
                width=230,
            ),
            TableColumn(
                field="name",
                title=both("parameter"),
                formatter=HTMLTemplateFormatter(template=_TITLED.format(english="name_en")),
                width=210,
            ),
            TableColumn(
                field="text",
                title=both("value"),
                formatter=StringFormatter(text_align="right"),
                width=80,
            ),
            TableColumn(field="unit", title=both("unit"), width=70),
            TableColumn(
                field="qc", title=both("quality"), formatter=swatch("qc_colour"), width=110
            ),
            TableColumn(field="time", title=both("measured_at"), width=100),
        ],
        width=800,
        height=270,
        index_position=None,
        name="aw:values-table",
    )


def _forwarding_table() -> DataTable:
    """Each station's forwarding lag and last error per receiver (officers)."""
    source = json_source(
        "forwarding",
        _FORWARDING_URL,
        ("receiver", "station_name", "lag", "last_sent", "last_error", "colour"),
    )
    return live_table(
        source,
        columns=[
            TableColumn(field="receiver", title=both("receiver"), width=200),
            TableColumn(field="station_name", title=both("station"), width=200),
            TableColumn(
                field="lag", title=both("forward_lag"), formatter=swatch("colour"), width=120
            ),
            TableColumn(field="last_sent", title=both("last_sent"), width=100),
            TableColumn(field="last_error", title=both("last_error"), width=400),
        ],
        width=1020,
        height=180,
        index_position=None,
        tags=[OFFICER],
        visible=False,
    )


@cache
def overview_page(tiles: str = "") -> Page:
    """The HTML of ``/dashboard`` (it holds no data, so it is built once).

    Args:
        tiles: A tile server's URL template (``{Z}/{X}/{Y}``), or empty for the tile-free
            map that works on a closed network.
    """
    overlaid = ("alert", "fill")
    stations = json_source("overview", _PUBLIC_URL, (*STATION_COLUMNS, *overlaid))
    values = empty_source(VALUE_COLUMNS, name="aw:values")
    worst = json_source("station_alerts", _WORST_URL, ("id", *overlaid))
    online = Link.ONLINE.value
    stations.adapter = CustomJS(
        args={"online": online, "values": values, "worst": worst}, code=_STATIONS_ADAPTER
    )
    worst.adapter = CustomJS(args={"online": online, "stations": stations}, code=_WORST_ADAPTER)
    small: dict[str, str | None] = {"font-size": "12px", "color": "#555"}
    notes = column(
        Div(text=escape(both("tiles_note" if tiles else "coast_note")), styles=small, width=720),
        Div(text=escape(both("public_note")), styles=small, width=720, tags=[GUEST]),
    )
    heading = "<h2>{}</h2>".format
    layout = column(
        row(
            column(_map(stations, tiles), notes),
            column(
                Div(text=heading(escape(both("stations")))),
                _stations_table(stations),
                Div(text=heading(escape(both("latest_values")))),
                _values_table(values),
            ),
        ),
        alert_panel("/dashboard/data/alerts.json"),
        Div(text=heading(escape(both("forwarding"))), tags=[OFFICER], visible=False),
        _forwarding_table(),
    )
    page_header = header(both("overview"), hint="login_for_alerts")
    return render(layout, title=vi("overview"), header=page_header)
