// The read-only dashboard served at GET /. One self-contained page: inline
// CSS and JS, nothing loaded from elsewhere (works air-gapped and under a
// strict Content-Security-Policy). It renders data with textContent only, so
// nothing from the repository is ever parsed as HTML.
#include "server/http_server.h"

namespace sluice::server {
namespace {

constexpr char kDashboard[] = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice — releases</title>
<style>
  :root { --ok:#1a7f37; --wait:#9a6700; --block:#cf222e; --busy:#0969da; --muted:#57606a;
          --line:#d0d7de; --bg:#f6f8fa; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
         color: #1f2328; background: #fff; }
  header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.2rem;
           border-bottom: 1px solid var(--line); background: var(--bg); }
  header h1 { font-size: 1.15rem; margin: 0; }
  #updated { color: var(--muted); font-size: .85rem; }
  #error { color: var(--block); font-weight: 600; }
  main { padding: 1rem 1.2rem; overflow-x: auto; }
  table { border-collapse: collapse; min-width: 40rem; }
  th, td { border: 1px solid var(--line); padding: .5rem .7rem; vertical-align: top; }
  thead th { background: var(--bg); text-align: left; }
  tbody th { text-align: left; background: var(--bg); white-space: nowrap; }
  .cell { min-width: 15rem; max-width: 26rem; }
  .state { font-weight: 600; }
  .in-sync .state { color: var(--ok); }
  .waiting .state { color: var(--wait); }
  .blocked .state, .failed .state { color: var(--block); }
  .applying .state, .verifying .state { color: var(--busy); }
  .line { color: var(--muted); font-size: .85rem; }
  .why { margin: .25rem 0 .35rem; padding-left: 1.1rem; }
  .why-one, .why li { margin: .15rem 0 .35rem; }
  .blocked .why-one, .blocked .why li, .failed .why-one, .failed .why li { color: var(--block); }
  .waiting .why-one, .waiting .why li { color: var(--wait); }
  .next { color: #1f2328; font-weight: 600; }
  .empty { color: var(--muted); text-align: center; }
  .legend { color: var(--muted); font-size: .85rem; margin-top: 1rem; }
  .timeline { margin-top: .35rem; }
  .timeline summary { cursor: pointer; }
  .events { margin: .2rem 0 0; padding-left: 1.1rem; font-size: .8rem; }
  .events li { margin: .05rem 0; }
  .ev-time { color: var(--muted); }
  .ev.failed .ev-what, .ev.blocked .ev-what { color: var(--block); }
  .ev.verified .ev-what { color: var(--ok); }
</style>
</head>
<body>
<header>
  <h1>Releases</h1>
  <span id="updated">loading…</span>
  <span id="error"></span>
</header>
<main>
  <table id="grid" aria-label="Environments and apps">
    <thead><tr id="head"><th>App</th></tr></thead>
    <tbody id="body"></tbody>
  </table>
  <p class="legend">Running: what is deployed now. Waiting to deploy: the version the release
  repository asks for, and what it waits for. Safe version: the last version that passed its
  checks, used for a rollback. Refreshes every 5 seconds; read-only.</p>
</main>
<script>
"use strict";
const STATES = {
  "in-sync":   "Up to date",
  "waiting":   "Waiting",
  "blocked":   "Blocked — needs someone to act",
  "applying":  "Deploying now",
  "verifying": "Deployed — checking it works",
  "failed":    "Failed"
};
const GATES = {
  window: "", freeze: "", soak: "", approval: "", config: "", policy: "",
  upstreamVerified: "Not yet verified upstream: ", vulnerabilities: "Security scan: ",
  registry: "Image registry: ", rollbackTarget: "No safe version to roll back to: ",
  noActiveIncident: "Incident open: ", incident: "Incident open: "
};

function plainReason(r) {
  const m = /^([A-Za-z][\w.-]*): (.*)$/.exec(r);
  if (!m) return cap(r);
  const prefix = Object.prototype.hasOwnProperty.call(GATES, m[1]) ? GATES[m[1]] : null;
  if (prefix === null) return cap(r);
  return prefix ? prefix + m[2] : cap(m[2]);
}
function cap(s) { return s ? s.charAt(0).toUpperCase() + s.slice(1) : s; }
function version(p, none) {
  if (!p) return none || "none";
  const d = p.digest ? p.digest.slice(0, 19) : "?";
  return (p.version ? p.version + " " : "") + "(" + d + ")";
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function when(t) {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d) ? t : d.toLocaleString();
}

// Record events in plain words, for the timeline.
const EVENTS = {
  "waiting": "Waiting", "blocked": "Blocked", "applying": "Deploying", "applied": "Deployed",
  "verified": "Checked OK", "failed": "Failed", "rolled-back": "Rolled back", "drift": "Drift found"
};

// What the pending version is doing, in the words of the state.
const NEXT = {
  "waiting": "Waiting to deploy: ", "blocked": "Waiting to deploy: ",
  "applying": "Deploying now: ", "verifying": "Checking: ", "failed": "Failed to deploy: "
};

function cellFor(row) {
  const td = el("td", "cell " + row.state);
  td.dataset.env = row.env;
  td.dataset.app = row.app;
  td.appendChild(el("div", "state", STATES[row.state] || cap(row.state)));
  // Why it is not up to date, one reason per line, in plain words.
  const reasons = row.state === "in-sync" ? [] : (row.reasons || []).map(plainReason);
  if (reasons.length === 1) {
    td.appendChild(el("div", "why-one", reasons[0]));
  } else if (reasons.length > 1) {
    const ul = el("ul", "why");
    for (const r of reasons) ul.appendChild(el("li", "", r));
    td.appendChild(ul);
  }
  let running = "Running: " + version(row.deployed, "nothing yet");
  if (row.deployed && row.deployed.time) running += " since " + when(row.deployed.time);
  td.appendChild(el("div", "line", running));
  if (row.deployed && row.deployed.approvers && row.deployed.approvers.length) {
    td.appendChild(el("div", "line", "Approved by " + row.deployed.approvers.join(", ")));
  }
  if (row.state !== "in-sync" && row.desired) {
    td.appendChild(el("div", "line next", (NEXT[row.state] || "Next: ") + version(row.desired)));
  }
  td.appendChild(el("div", "line", "Safe version: " + version(row.lkg, "none yet")));
  // What happened lately, newest first, in plain words; the reason on hover.
  if (row.recent && row.recent.length) {
    const det = el("details", "timeline");
    det.open = true;
    det.appendChild(el("summary", "line", "Recent events"));
    const ol = el("ol", "events");
    for (const e of row.recent) {
      const li = el("li", "ev " + e.event);
      li.appendChild(el("span", "ev-time", when(e.time)));
      li.appendChild(el("span", "ev-what",
                        " " + (EVENTS[e.event] || cap(e.event)) + (e.version ? " " + e.version : "")));
      if (e.reason) li.title = e.reason;
      ol.appendChild(li);
    }
    det.appendChild(ol);
    td.appendChild(det);
  }
  return td;
}

function render(rows) {
  const envs = [], apps = [], byKey = new Map();
  for (const r of rows) {
    if (!envs.includes(r.env)) envs.push(r.env);
    if (!apps.includes(r.app)) apps.push(r.app);
    byKey.set(r.env + "\u0000" + r.app, r);
  }
  apps.sort();
  const head = document.getElementById("head");
  head.replaceChildren(el("th", "", "App"));
  for (const e of envs) head.appendChild(el("th", "", e));
  const body = document.getElementById("body");
  body.replaceChildren();
  if (!rows.length) {
    const tr = el("tr");
    const td = el("td", "empty", "No apps are pinned yet.");
    td.colSpan = 1 + envs.length;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  for (const a of apps) {
    const tr = el("tr");
    tr.appendChild(el("th", "", a));
    for (const e of envs) {
      const r = byKey.get(e + "\u0000" + a);
      tr.appendChild(r ? cellFor(r) : el("td", "cell line", "Not deployed here"));
    }
    body.appendChild(tr);
  }
}

async function refresh() {
  const err = document.getElementById("error");
  try {
    const res = await fetch("api/v1/status", {cache: "no-store"});
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || ("HTTP " + res.status));
    render(data);
    err.textContent = "";
    document.getElementById("updated").textContent =
        "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    err.textContent = "Cannot load the status: " + e.message;
  }
}
refresh();
setInterval(refresh, 5000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view DashboardHtml() { return {kDashboard, sizeof(kDashboard) - 1}; }

}  // namespace sluice::server
