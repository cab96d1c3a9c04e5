// Adapter of a display board's feed: redraws the station tiles, returns the VN_WQI bars.
// Runs in a Bokeh CustomJS with cb_data.response = the board's feed (/boards/{id}.json).
const feed = cb_data.response;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const clock = (iso) => (iso ? iso.slice(11, 16) + " " + iso.slice(8, 10) + "/" + iso.slice(5, 7) : "—");
const tiles = feed.stations.map((s) => {
  const stale = s.state === "mat_ket_noi";
  const values = s.values.map((v) =>
    `<div class="value"><span class="dot" style="background:${esc(v.colour)}"></span>` +
    `<span class="pname">${esc(v.name)}</span>` +
    `<span class="num" data-p="${esc(v.p)}">${esc(v.text)}</span>` +
    `<span class="unit">${esc(v.u)}</span></div>`).join("");
  const wqi = s.wqi === null
    ? `<div class="wqi none">VN_WQI: ${esc(labels.no_wqi)}</div>`
    : `<div class="wqi" style="background:${esc(s.colour)}">` +
      `<span class="wqi-num">${s.wqi}</span><span class="band">${esc(s.band)}</span></div>`;
  return `<section class="tile ${stale ? "stale" : ""}" data-station="${esc(s.id)}">` +
    `<h2>${esc(s.name)}</h2>` +
    `<div class="state ${esc(s.state)}">${esc(s.state_text)}</div>` + wqi +
    `<div class="values">${values}</div>` +
    `<div class="last">${esc(labels.last)}: <span class="time">${esc(clock(s.last))}</span></div>` +
    `</section>`;
});
document.getElementById("tiles").innerHTML = tiles.join("");
document.getElementById("updated").textContent = clock(feed.generated_at);
const shown = feed.stations.filter((s) => s.wqi !== null);
return {
  name: shown.map((s) => s.name),
  wqi: shown.map((s) => s.wqi),
  colour: shown.map((s) => s.colour),
  label: shown.map((s) => `${s.wqi} ${s.band}`),
};
