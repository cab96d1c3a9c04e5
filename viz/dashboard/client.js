// AquaWatch dashboards in the browser: login token, authorised data sources, alert actions.
// The token lives in sessionStorage (this tab only); requests to /dashboard/data/ send it.
// Public data shows without it; models tagged "officer" show once logged in, and those
// tagged "guest" (login prompts) until then.
"use strict";
window.AW = {
  token() {
    return sessionStorage.getItem("aw_token");
  },
  headers() {
    const token = AW.token();
    return token ? {Authorization: "Bearer " + token} : {};
  },
  whenReady(action) {
    if (window.Bokeh && Bokeh.documents.length > 0) {
      action(Bokeh.documents[0]);
    } else {
      setTimeout(() => AW.whenReady(action), 50);
    }
  },
  sources(doc) {
    return [...doc.all_models].filter((m) => m.name && m.name.startsWith("aw:"));
  },
  // Show the parts for who is here: officers' once logged in, the login prompts before.
  show(doc) {
    const loggedIn = AW.token() !== null;
    document.body.classList.toggle("logged-in", loggedIn);
    for (const model of doc.all_models) {
      if (model.tags.includes("officer")) model.visible = loggedIn;
      if (model.tags.includes("guest")) model.visible = !loggedIn;
    }
    return loggedIn;
  },
  // Fetch every data source now (after a login or an action; they also poll on their own).
  authorise() {
    AW.whenReady((doc) => {
      if (!AW.show(doc)) return;
      for (const source of AW.sources(doc)) {
        if (source.data_url !== undefined) source.get_data(source.mode);
      }
    });
  },
  // A token the server no longer accepts (expired, user deactivated): back to the public
  // page, saying why, rather than officer parts that silently stop updating.
  expired() {
    sessionStorage.removeItem("aw_token");
    sessionStorage.setItem("aw_expired", "1");
    location.reload();
  },
  // Log in with the header's form (its onsubmit returns false itself: this is async).
  async login(form) {
    const body = {username: form.username.value, password: form.password.value};
    const reply = await fetch("/api/v1/auth/token", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    const status = document.getElementById("login-status");
    if (!reply.ok) {
      status.textContent = (await reply.json()).detail || reply.statusText;
      return;
    }
    sessionStorage.setItem("aw_token", (await reply.json()).access_token);
    status.textContent = "";
    AW.authorise();
  },
  logout() {
    sessionStorage.removeItem("aw_token");
    location.reload();
  },
  // Acknowledge or resolve an alert through the API; returns the problem text, or "".
  async act(alertId, action, note) {
    const reply = await fetch(`/api/v1/alerts/${alertId}/${action}`, {
      method: "POST",
      headers: {...AW.headers(), "Content-Type": "application/json"},
      body: JSON.stringify(note ? {note} : {}),
    });
    if (reply.ok) {
      AW.authorise();
      return "";
    }
    const problem = await reply.json();
    return problem.detail || reply.statusText;
  },
  // Backtest a candidate limit change of a rule (POST .../what-if); {result} or {problem}.
  async whatIf(stationId, ruleId, candidate) {
    const path = `/api/v1/stations/${encodeURIComponent(stationId)}` +
      `/thresholds/${encodeURIComponent(ruleId)}/what-if`;
    const reply = await fetch(path, {
      method: "POST",
      headers: {...AW.headers(), "Content-Type": "application/json"},
      body: JSON.stringify(candidate),
    });
    if (reply.ok) return {result: await reply.json()};
    const problem = await reply.json().catch(() => ({}));
    const fields = (problem.errors || []).map((e) => e.msg).join("; ");
    return {problem: fields || problem.detail || reply.statusText};
  },
  // Columns of a JSON reply with null (a gap: JSON has no NaN) turned into NaN, so Bokeh
  // breaks the line there instead of drawing it at zero.
  gaps(data) {
    const out = {};
    for (const [key, values] of Object.entries(data)) {
      out[key] = Array.isArray(values) ? values.map((v) => (v === null ? NaN : v)) : values;
    }
    return out;
  },
};
// Data sources start fetching as soon as Bokeh builds them; adding the token to their
// requests here saves waiting for the document before the first authorised fetch.
{
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    open.call(this, method, url, ...rest);
    if (AW.token() !== null && new URL(url, location.href).pathname.startsWith("/dashboard/data/")) {
      const sent = AW.token();
      this.setRequestHeader("Authorization", "Bearer " + sent);
      this.addEventListener("load", () => {
        if (this.status === 401 && AW.token() === sent) AW.expired();
      });
    }
  };
}
// Handlers are attached here, not written into the markup: the pages' Content-Security-Policy
// runs no inline event handlers. Bokeh puts its widgets' HTML in shadow roots, so a click is
// matched along its composed path.
document.addEventListener("submit", (event) => {
  if (event.target.id !== "login") return;
  event.preventDefault();
  AW.login(event.target);
});
document.addEventListener("click", (event) => {
  const hit = (test) => event.composedPath().some((node) => node instanceof Element && test(node));
  if (hit((node) => node.id === "logout")) AW.logout();
  else if (hit((node) => node.dataset.aw === "focus-login")) {
    document.querySelector("#login input").focus();
  }
});
window.addEventListener("DOMContentLoaded", () => {
  document.body.classList.toggle("logged-in", AW.token() !== null);
  if (sessionStorage.getItem("aw_expired") !== null) {
    sessionStorage.removeItem("aw_expired");
    const status = document.getElementById("login-status");
    status.textContent = status.dataset.expired;
  }
  AW.whenReady(AW.show);
});
