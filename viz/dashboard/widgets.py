"""Pieces the dashboard pages share: the page header with login, and the open-alert table.

Parts for officers carry the tag ``officer`` and are shown once logged in; parts tagged
``guest`` stand in for them before (``client.js`` switches them).
"""

from __future__ import annotations

from html import escape
from typing import Any, Final

from bokeh.layouts import column, row
from bokeh.models import AjaxDataSource, ColumnDataSource, CustomJS
from bokeh.models.layouts import LayoutDOM
from bokeh.models.widgets.buttons import Button
from bokeh.models.widgets.inputs import TextInput
from bokeh.models.widgets.markups import Div
from bokeh.models.widgets.tables import DataTable, HTMLTemplateFormatter, TableColumn

from viz.messages import both

__all__ = [
    "GUEST",
    "OFFICER",
    "POLL_MS",
    "alert_panel",
    "empty_source",
    "header",
    "json_source",
    "live_table",
    "swatch",
]

POLL_MS: Final = 5000
OFFICER: Final = "officer"
"""Tag of the models shown only once logged in."""
GUEST: Final = "guest"
"""Tag of the models shown only before logging in."""

_LOGIN_BUTTON: Final = (
    '<button type="button" data-aw="focus-login">{label}</button>'  # client.js handles it
)

_ACT: Final = """
const picked = table.source.selected.indices;
if (picked.length === 0) { status.text = "%s"; return; }
const id = table.source.data.id[picked[0]];
AW.act(id, action, note.value).then((problem) => {
  status.text = problem ? problem : `#${id}: ${done}`;
  table.source.selected.indices = [];
});
"""


def live_table(source: ColumnDataSource, **options: Any) -> DataTable:
    """A table of ``source`` that shows each new reply of its poll.

    BokehJS 3.9 redraws a table only when its number of rows changes, so the same stations
    with new values (or an alert now acknowledged) would stay on screen as they were.
    """
    table = DataTable(source=source, **options)
    source.js_on_change("data", CustomJS(args={"view": table.view}, code="view.change.emit()"))
    return table


def swatch(colour: str) -> HTMLTemplateFormatter:
    """A cell drawn on the colour in column ``colour``; both are escaped (``<%- %>``)."""
    return HTMLTemplateFormatter(
        template=f'<span style="background:<%- {colour} %>;padding:0 6px;border-radius:3px">'
        "<%- value %></span>"
    )


def header(title: str, *, crumbs: str = "", below: str = "", hint: str = "login_needed") -> str:
    """The page header: title, navigation, the login form, then ``below`` (trusted HTML).

    Args:
        title: The page's title (escaped here).
        crumbs: Trusted HTML after the overview link.
        below: Trusted HTML under the header.
        hint: Catalogue key of the text beside the login form.
    """
    return f"""
<header>
  <h1>{escape(title)}</h1>
  <nav><a href="/dashboard">{escape(both("overview"))}</a>{crumbs}</nav>
  <form id="login">
    <span class="hint">{escape(both(hint))}</span>
    <input name="username" autocomplete="username" placeholder="{escape(both("username"))}">
    <input name="password" type="password" autocomplete="current-password"
      placeholder="{escape(both("password"))}">
    <button type="submit">{escape(both("login"))}</button>
    <span id="login-status" data-expired="{escape(both("session_expired"))}"></span>
  </form>
  <button id="logout" type="button">{escape(both("logout"))}</button>
</header>{below}"""


def json_source(
    name: str, url: str, columns: tuple[str, ...], *, poll_ms: int | None = POLL_MS
) -> AjaxDataSource:
    """A data source polling ``url``; ``client.js`` adds the login token and starts it."""
    return AjaxDataSource(
        name=f"aw:{name}",
        data_url=url,
        method="GET",
        polling_interval=poll_ms,
        mode="replace",
        data={c: [] for c in columns},
    )


def alert_panel(url: str) -> LayoutDOM:
    """The open-alert table with acknowledge and resolve (officers; the API checks roles).

    Before login a prompt stands in its place; the table's source still asks (and is
    refused) until then, so it fills as soon as the officer logs in.
    """
    source = json_source(
        "alerts",
        url,
        ("id", "station", "station_name", "message", "severity", "state", "opened", "value"),
    )
    table = live_table(
        source,
        columns=[
            TableColumn(field="id", title="#", width=40),
            TableColumn(field="station_name", title=both("station"), width=220),
            TableColumn(field="message", title=both("rule"), width=320),
            TableColumn(
                field="severity", title=both("severity"), formatter=swatch("colour"), width=110
            ),
            TableColumn(field="state", title=both("state"), width=100),
            TableColumn(field="opened", title=both("opened_at"), width=130),
            TableColumn(field="value", title=both("value"), width=70),
        ],
        width=1000,
        height=220,
        index_position=None,
        selectable=True,
    )
    note = TextInput(placeholder=both("note"), width=420)
    status = Div(text="")
    hint = both("pick_alert")
    buttons = []
    for action, done in (("acknowledge", "acknowledged"), ("resolve", "resolved")):
        button = Button(label=both(action), button_type="primary", width=170)
        args = {"table": table, "note": note, "status": status, "action": action}
        button.js_on_click(CustomJS(args={**args, "done": both(done)}, code=_ACT % hint))
        buttons.append(button)
    title = Div(text=f"<h2>{escape(both('open_alerts'))}</h2>")
    officer = column(table, row(note, *buttons, status), tags=[OFFICER], visible=False)
    prompt = Div(
        text=f"<p>{escape(both('alerts_need_login'))} "
        f"{_LOGIN_BUTTON.format(label=escape(both('login')))}</p>",
        tags=[GUEST],
    )
    return column(title, prompt, officer)


def empty_source(columns: tuple[str, ...], *, name: str | None = None) -> ColumnDataSource:
    """A plain source another source's adapter fills."""
    return ColumnDataSource(data={c: [] for c in columns}, name=name)
