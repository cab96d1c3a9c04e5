"""The officer overview: a tile-free map of the province, the station table, the open alerts."""

from __future__ import annotations

from functools import cache
from html import escape
from typing import Final

from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, HoverTool, OpenURL, Range1d, TapTool, WMTSTileSource
from bokeh.models.annotations.labels import LabelSet
from bokeh.models.widgets.markups import Div
from bokeh.models.widgets.tables import DataTable, HTMLTemplateFormatter, TableColumn
from bokeh.plotting import figure

from viz.dashboard.page import render
from viz.dashboard.status import web_mercator
from viz.dashboard.widgets import alert_panel, header, json_source, live_table
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

_COLUMNS: Final = (
    "id", "name", "name_en", "lat", "lon", "x", "y", "fill", "line", "alert", "quality", "state",
    "last", "url",
)  # fmt: skip
# Station names come from the registry file: escaped (<%- %>), never interpolated raw.
_LINK: Final = '<a href="<%- url %>"><%- value %></a>'
_SWATCH: Final = (
    '<span style="background:<%- fill %>;padding:0 6px;border-radius:3px"><%- value %></span>'
)


def _map(source: ColumnDataSource, tiles: str) -> figure:
    """The stations on tiles (Web Mercator) when a tile server is set, else on outlines."""
    if tiles:
        (left, bottom), (right, top) = web_mercator(103.75, 9.3), web_mercator(105.75, 10.6)
        fig = figure(
            title=both("map"), x_range=Range1d(start=left, end=right),
            y_range=Range1d(start=bottom, end=top),
            x_axis_type="mercator", y_axis_type="mercator", match_aspect=True, width=720,
            height=520, tools="pan,wheel_zoom,reset,save",
        )  # fmt: skip
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
            x=x, y=y, text="id", source=source, x_offset=14, y_offset=-6,
            text_font_size="12pt", text_font_style="bold",
        )
    )  # fmt: skip
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[  # Bokeh escapes the fields of a tooltip
                (vi("station"), "@name"),
                (vi("worst_alert"), "@alert"),
                (vi("quality"), "@quality"),
                (vi("last_reading"), "@last"),
            ],
        )
    )
    fig.add_tools(TapTool(renderers=[dots], callback=OpenURL(url="@url", same_tab=True)))
    return fig


def _table(source: ColumnDataSource) -> DataTable:
    swatch = HTMLTemplateFormatter(template=_SWATCH)
    return live_table(
        source,
        columns=[
            TableColumn(
                field="name", title=both("station"), formatter=HTMLTemplateFormatter(template=_LINK)
            ),
            TableColumn(field="state", title=both("status"), width=120),
            TableColumn(field="alert", title=both("worst_alert"), formatter=swatch, width=120),
            TableColumn(field="quality", title=both("quality"), width=110),
            TableColumn(field="last", title=both("last_reading"), width=100),
        ],
        width=640,
        height=260,
        index_position=None,
    )


@cache
def overview_page(tiles: str = "") -> str:
    """The HTML of ``/dashboard`` (it holds no data, so it is built once).

    Args:
        tiles: A tile server's URL template (``{Z}/{X}/{Y}``), or empty for the tile-free
            map that works on a closed network.
    """
    source = json_source("overview", "/dashboard/data/overview.json", _COLUMNS)
    text = both("tiles_note" if tiles else "coast_note")
    note = Div(text=escape(text), styles={"font-size": "12px", "color": "#555"})
    layout = column(
        row(column(_map(source, tiles), note), column(Div(text=f"<h2>{both('stations')}</h2>"),
            _table(source))),
        alert_panel("/dashboard/data/alerts.json"),
    )  # fmt: skip
    return render(layout, title=vi("overview"), header=header(both("overview")))
