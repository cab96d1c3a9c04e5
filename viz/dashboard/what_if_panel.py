"""The station page's what-if panel: try a rule's limits on the last 30 or 90 days.

Officers pick a rule, type the limits to try and see, beside the limits in force, how many
alerts the candidate would have raised, when and for how long. The panel calls the API's
``POST /api/v1/stations/{id}/thresholds/{rule}/what-if`` with the officer's token, so the
API's permissions apply (viewers are refused); nothing is applied from here.
"""

from __future__ import annotations

from html import escape
from typing import Final

from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS
from bokeh.models.layouts import LayoutDOM
from bokeh.models.widgets.buttons import Button
from bokeh.models.widgets.inputs import Select, TextInput
from bokeh.models.widgets.markups import Div
from bokeh.models.widgets.tables import DataTable, TableColumn

from viz.dashboard.widgets import OFFICER, swatch
from viz.messages import SEVERITY_KEYS, both
from viz.palette import SEVERITY_COLOURS

__all__ = ["what_if_panel"]

_COLUMNS: Final = ("limits", "severity", "colour", "opened", "resolved", "hours")
_RUN: Final = """
const candidate = {days: Number(days.value)};
for (const [tier, input] of Object.entries(limits)) {
  const text = input.value.trim().replace(",", ".");
  if (text !== "") candidate[tier] = Number(text);
}
summary.text = words.trying;
AW.whatIf(station, rule.value, candidate).then((reply) => {
  if (reply.problem !== undefined) {
    summary.text = reply.problem;
    return;
  }
  const r = reply.result;
  const style = {timeZone: zone, day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit", hour12: false};
  const when = (iso) => iso === null ? words.still_open
    : new Date(iso).toLocaleString("vi-VN", style);
  const out = {limits: [], severity: [], colour: [], opened: [], resolved: [], hours: []};
  for (const [name, outcome] of [[words.in_force, r.current], [words.candidate, r.candidate]]) {
    for (const span of outcome.spans) {
      out.limits.push(name);
      out.severity.push(tiers[span.severity]);
      out.colour.push(colours[span.severity]);
      out.opened.push(when(span.opened_at));
      out.resolved.push(when(span.resolved_at));
      out.hours.push(span.hours);
    }
  }
  table.source.data = out;
  const told = (o) => `${o.alerts} ${words.alerts_count}, ${o.alert_hours} ${words.alert_hours}`;
  summary.text = `${words.in_force}: ${told(r.current)}`
    + `  ·  ${words.candidate}: ${told(r.candidate)}`;
});
"""


def what_if_panel(station_id: str, *, rules: tuple[str, ...], zone: str) -> LayoutDOM:
    """The panel (officers only: tagged, hidden until login).

    Args:
        station_id: The station.
        rules: The ids of the rules in force there.
        zone: The station's time zone, for the times shown.
    """
    options: list[str | tuple[str, str]] = list(rules)
    first = rules[0] if rules else ""
    rule = Select(title=both("rule"), options=options, value=first, width=260, name="what-if:rule")
    limits = {
        tier.key: TextInput(title=both(key), width=130, name=f"what-if:{tier.key}")
        for tier, key in SEVERITY_KEYS.items()
    }
    spans: list[str | tuple[str, str]] = ["30", "90"]
    days = Select(title=both("days"), options=spans, value="30", width=90)
    run = Button(label=both("try"), button_type="primary", width=120, name="what-if:run")
    summary = Div(text="", render_as_text=True, name="what-if:summary", width=1000)
    source = ColumnDataSource(data={c: [] for c in _COLUMNS}, name="what-if:alerts")
    table = DataTable(
        source=source,
        columns=[
            TableColumn(field="limits", title=both("limits"), width=200),
            TableColumn(
                field="severity", title=both("severity"), formatter=swatch("colour"), width=160
            ),
            TableColumn(field="opened", title=both("opened_at"), width=180),
            TableColumn(field="resolved", title=both("resolved_at"), width=180),
            TableColumn(field="hours", title=both("hours"), width=90),
        ],
        width=1000,
        height=220,
        index_position=None,
    )
    words = {
        key: both(key)
        for key in ("trying", "in_force", "candidate", "alerts_count", "alert_hours", "still_open")
    }
    run.js_on_click(
        CustomJS(
            args={
                "station": station_id,
                "rule": rule,
                "limits": limits,
                "days": days,
                "summary": summary,
                "table": table,
                "zone": zone,
                "words": words,
                "tiers": {str(int(t)): both(k) for t, k in SEVERITY_KEYS.items()},
                "colours": {str(int(t)): c for t, c in SEVERITY_COLOURS.items()},
            },
            code=_RUN,
        )
    )
    title = Div(
        text=f"<h2>{escape(both('what_if'))}</h2><p>{escape(both('what_if_hint'))}</p>",
        width=1000,
    )
    controls = row(rule, *limits.values(), days, run)
    return column(title, controls, summary, table, tags=[OFFICER], visible=False)
