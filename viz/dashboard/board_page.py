"""A public display board's page: big tiles per station and a VN_WQI bar chart, self-refreshing.

One Bokeh data source polls the board's feed every 10 seconds; its adapter redraws the tiles
(station name, status, VN_WQI with band and colour, values with units and status colours,
time of the last reading, "MẤT KẾT NỐI" when stale) and returns the bars.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import Final

from bokeh.models import AjaxDataSource, CustomJS, FactorRange, Range1d
from bokeh.models.annotations.labels import LabelSet, Title
from bokeh.plotting import figure

from viz.dashboard.page import Page, asset, render
from viz.messages import vi

__all__ = ["REFRESH_MS", "board_page"]

REFRESH_MS: Final = 10_000


def _chart(board_id: str, names: tuple[str, ...]) -> figure:
    source = AjaxDataSource(
        name="board:wqi",
        data_url=f"/boards/{board_id}.json",
        method="GET",
        polling_interval=REFRESH_MS,
        mode="replace",
        data={"name": [], "wqi": [], "colour": [], "label": []},
    )
    labels = {"no_wqi": vi("no_wqi"), "last": vi("last_reading")}
    source.adapter = CustomJS(args={"labels": labels}, code=asset("board.js"))
    fig = figure(
        y_range=FactorRange(factors=list(names) or [""]),
        x_range=Range1d(start=0, end=100),
        width=1800,
        height=90 + 70 * max(len(names), 1),
        title=Title(text=vi("wqi"), text_color="#ffffff", text_font_size="30px"),
        toolbar_location=None,
        background_fill_color="#000000",
        border_fill_color="#000000",
        outline_line_color="#ffffff",
        sizing_mode="stretch_width",
    )
    fig.hbar(y="name", right="wqi", height=0.7, source=source, fill_color="colour", line_color=None)
    fig.add_layout(
        LabelSet(
            x="wqi",
            y="name",
            text="label",
            source=source,
            x_offset=8,
            y_offset=-14,
            text_color="#ffffff",
            text_font_size="26px",
            text_font_style="bold",
        )
    )
    for axis in (fig.xaxis, fig.yaxis):
        axis.major_label_text_color = "#ffffff"
        axis.major_label_text_font_size = "24px"
        axis.axis_line_color = "#ffffff"
    fig.grid.grid_line_color = "#444444"
    return fig


@lru_cache(maxsize=64)
def board_page(board_id: str, *, name: str, location: str, station_names: tuple[str, ...]) -> Page:
    """The HTML of ``/boards/{id}``; ``station_names`` order the bars (cached: no data)."""
    top = f"""<header><h1>{escape(name)}</h1>
<span class="sub">{escape(location)} · {escape(vi("updated"))}: <span id="updated">—</span></span>
</header><div id="tiles"></div>
<footer>{escape(vi("board_footer"))} · {escape(vi("app"))}</footer>"""
    return render(
        _chart(board_id, station_names),
        title=name,
        header=top,
        css="board.css",
    )
