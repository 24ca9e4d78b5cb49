// Drover's dashboard: renders the frames and events the node pushes on
// /events (Server-Sent Events). It never polls: every change on the page
// follows a message from the server.
"use strict";

const STATES = ["starting", "idle", "busy", "stopping", "unhealthy", "dead"];
const PRIORITIES = ["critical", "high", "normal", "low"];
const FEED_MAX = 200;
const CELLS_MAX = 1024; // cells drawn per pool; the counts by state cover all
const WINDOW_MS = 5 * 60 * 1000;

const page = {
  history: [],      // the node's Rates, oldest first
  intervalMS: 1000,
  frames: 0,        // frames rendered, for people and tests alike
  lastFrameAt: 0,
};
window.drover = page;

// el builds an element: el("div", {class: "x", "data-a": 1}, child, "text").
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const $ = (id) => document.getElementById(id);

function fmtRate(v) {
  if (!isFinite(v)) return "–";
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function fmtMS(v) {
  if (!v) return "0";
  if (v >= 1000) return (v / 1000).toFixed(2) + " s";
  if (v >= 10) return v.toFixed(0) + " ms";
  if (v >= 1) return v.toFixed(1) + " ms";
  return (v * 1000).toFixed(0) + " µs";
}

function fmtTime(t) {
  return new Date(t).toLocaleTimeString([], {hour12: false});
}

function setConn(state, text) {
  const c = $("conn");
  c.dataset.conn = state;
  c.textContent = text;
  document.body.classList.toggle("stale", state !== "live");
}

// ---- totals ----

function card(name, value, rate, attrs) {
  return el("div", Object.assign({class: "card"}, attrs),
    el("div", {class: "muted"}, name),
    el("div", {class: "v", "data-value": value}, value),
    rate === undefined ? null : el("div", {class: "r"}, fmtRate(rate) + "/s"));
}

function renderTotals(st, node) {
  const t = st.totals;
  $("totals").replaceChildren(
    card("submitted", t.submitted, node.submitted, {"data-total": "submitted"}),
    card("completed", t.completed, node.completed, {"data-total": "completed"}),
    card("failed", t.failed, node.failed, {"data-total": "failed"}),
    card("rejected", t.rejected, node.rejected, {"data-total": "rejected"}),
    card("restarts", t.restarts, undefined, {"data-total": "restarts"}),
    card("timed out", t.timed_out, undefined, {"data-total": "timed_out"}),
    card("retries", t.retries, undefined, {"data-total": "retries"}),
    card("run p99, last interval", node.run.count ? fmtMS(node.run.p99_ms) : "–", undefined, {"data-latency": "node-run-p99"}));
}

// ---- pools ----

function renderPool(p, r) {
  const cells = el("div", {class: "grid", "data-grid": p.name});
  for (const w of p.worker_list.slice(0, CELLS_MAX)) {
    cells.append(el("span", {
      class: "cell", "data-state": w.state, "data-worker": w.name,
      title: `${w.name}: ${w.state}, ${w.in_flight} in flight, ${w.restarts} restarts`,
    }));
  }
  if (p.worker_list.length > CELLS_MAX) {
    cells.append(el("span", {class: "muted"}, ` +${p.worker_list.length - CELLS_MAX} more`));
  }
  const states = el("div", {class: "states"});
  for (const s of STATES) {
    const n = p.worker_states[s] || 0;
    if (!n) continue;
    const swatch = el("i", {class: "cell", "data-state": s});
    states.append(el("span", {"data-state-count": s, "data-value": n}, swatch, `${n} ${s}`));
  }

  const counter = (name, value, rate) => el("span", {},
    name + " ", el("b", {"data-counter": name, "data-value": value}, value),
    rate === undefined ? null : el("span", {class: "muted", "data-rate": name}, ` (${fmtRate(rate)}/s)`));
  const counters = el("div", {class: "row"},
    counter("submitted", p.submitted, r && r.submitted),
    counter("completed", p.completed, r && r.completed),
    counter("failed", p.failed, r && r.failed),
    counter("rejected", p.rejected, r && r.rejected),
    counter("restarts", p.restarts),
    counter("in_flight", p.in_flight));

  const queue = el("div", {class: "queue"});
  for (const pr of PRIORITIES) {
    const n = p.queue[pr];
    const pct = p.queue_capacity ? Math.min(100, 100 * n / p.queue_capacity) : 0;
    const fill = el("div");
    fill.style.width = pct + "%";
    queue.append(el("div", {},
      el("span", {class: "muted"}, pr + " "), el("b", {"data-queue": pr, "data-value": n}, n),
      el("div", {class: "bar"}, fill)));
  }

  const now = (win, q) => (win && win.count ? fmtMS(win[q]) : "–");
  const lat = (name, win, all) => el("span", {},
    name + " p50 ", el("b", {}, now(win, "p50_ms")),
    " p99 ", el("b", {"data-latency": name + "-p99"}, now(win, "p99_ms")),
    el("span", {class: "muted"}, ` (since start ${fmtMS(all.p50_ms)} / ${fmtMS(all.p99_ms)})`));
  const latency = el("div", {class: "row"},
    lat("queue wait", r && r.queue_wait, p.queue_wait),
    lat("run", r && r.run, p.run));

  let breakers = null;
  const types = Object.keys(p.breakers || {}).sort();
  if (types.length) {
    breakers = el("div", {class: "row"}, "breakers:");
    for (const t of types) {
      const state = p.breakers[t];
      const cls = state === "closed" ? "good" : state === "open" ? "bad" : "mid";
      breakers.append(el("span", {class: "badge " + cls, "data-breaker": t || "(pool)"}, `${t || "pool"}: ${state}`));
    }
  }

  const stateCls = p.state === "running" ? "good" : (p.state === "failed" || p.state === "halted") ? "bad" : "mid";
  const bounds = p.min_workers === p.max_workers
    ? `${p.workers} workers`
    : `${p.workers} workers (scale ${p.min_workers}–${p.max_workers}, peak ${p.peak_workers})`;
  return el("article", {class: "pool", "data-pool": p.name},
    el("h3", {}, p.name, el("span", {class: "badge " + stateCls, "data-pool-state": p.state}, p.state)),
    el("div", {class: "meta"},
      `${p.kind} · ${p.strategy} · ${bounds} · concurrency ${p.concurrency} · queue ${p.queue.total}/${p.queue_capacity}`),
    cells, states, counters,
    el("div", {class: "muted"}, "queued by priority"), queue,
    el("div", {class: "muted"}, "latency, last interval"),
    latency, breakers,
    p.start_error ? el("div", {class: "error-text"}, "cannot start workers: " + p.start_error) : null);
}

// ---- cluster ----

function renderCluster(c) {
  $("cluster").hidden = !c;
  if (!c) return;
  $("cluster-name").textContent = `${c.name}: ${c.members.length} member${c.members.length === 1 ? "" : "s"}`;
  $("members").replaceChildren(...c.members.map((m) => el("tr", {"data-member": m.name},
    el("td", {}, m.name + (m.self ? " (self)" : "")),
    el("td", {}, m.address),
    el("td", {}, el("span", {class: "badge " + (m.state === "up" ? "good" : "mid")}, m.state)),
    el("td", {}, m.report_age_ms < 0 ? "–" : m.report_age_ms + " ms"),
    el("td", {}, m.in_flight),
    el("td", {}, m.dispatched),
    el("td", {}, (m.pools || []).map((p) => `${p.name} ${p.in_flight}/${p.queue}/${p.capacity}`).join(", ") || "–"))));
}

// ---- charts ----

const COLORS = {completed: "#2e7d32", failed: "#d32f2f", rejected: "#f57c00",
  "run p50": "#1e88e5", "run p99": "#0d47a1", "wait p50": "#8e24aa", "wait p99": "#4a148c"};

function legend(id, names) {
  $(id).replaceChildren(...names.map((n) => {
    const sw = el("i");
    sw.style.background = COLORS[n];
    return el("span", {}, sw, n);
  }));
}

// drawChart draws series of [t, v] points over the last WINDOW_MS.
function drawChart(canvas, series, fmt) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
    canvas.width = w * dpr;
    canvas.height = h * dpr;
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const left = 56, right = 8, top = 8, bottom = 20;
  const end = page.history.length ? page.history[page.history.length - 1].t : Date.now();
  const start = end - WINDOW_MS;
  let ymax = 0;
  for (const s of series) for (const [, v] of s.points) ymax = Math.max(ymax, v);
  ymax = ymax > 0 ? ymax * 1.15 : 1;
  const x = (t) => left + (w - left - right) * (t - start) / WINDOW_MS;
  const y = (v) => top + (h - top - bottom) * (1 - v / ymax);

  g.font = "11px system-ui, sans-serif";
  g.strokeStyle = "#dde1e7";
  g.fillStyle = "#6b7483";
  g.lineWidth = 1;
  g.textAlign = "right";
  for (let i = 0; i <= 4; i++) {
    const v = ymax * i / 4;
    g.beginPath();
    g.moveTo(left, y(v));
    g.lineTo(w - right, y(v));
    g.stroke();
    g.fillText(fmt(v), left - 4, y(v) + 4);
  }
  g.textAlign = "center";
  for (let m = 0; m <= 5; m++) {
    const t = start + m * 60000;
    g.fillText(m === 5 ? "now" : `-${5 - m} min`, x(t), h - 5);
  }
  for (const s of series) {
    g.strokeStyle = COLORS[s.name];
    g.lineWidth = 1.5;
    g.beginPath();
    let prev = null;
    for (const [t, v] of s.points) {
      if (t < start) continue;
      // A gap longer than three samples is drawn as a gap, not a line.
      if (prev === null || t - prev > 3 * page.intervalMS) g.moveTo(x(t), y(v));
      else g.lineTo(x(t), y(v));
      prev = t;
    }
    g.stroke();
  }
}

function drawCharts() {
  const hist = page.history;
  const pts = (f) => hist.map((r) => [r.t, f(r)]);
  drawChart($("chart-throughput"), [
    {name: "completed", points: pts((r) => r.completed)},
    {name: "failed", points: pts((r) => r.failed)},
    {name: "rejected", points: pts((r) => r.rejected)},
  ], fmtRate);
  drawChart($("chart-latency"), [
    {name: "run p50", points: pts((r) => r.run.p50_ms)},
    {name: "run p99", points: pts((r) => r.run.p99_ms)},
    {name: "wait p50", points: pts((r) => r.queue_wait.p50_ms)},
    {name: "wait p99", points: pts((r) => r.queue_wait.p99_ms)},
  ], fmtMS);
}

// ---- events ----

function addEvent(e) {
  const who = [e.pool, e.worker].filter(Boolean).join(" ");
  const li = el("li", {"data-kind": e.kind, "data-level": e.level, "data-pool": e.pool, "data-worker": e.worker},
    el("time", {datetime: new Date(e.t).toISOString()}, fmtTime(e.t)),
    who ? el("span", {class: "who"}, who) : null,
    e.text);
  const feed = $("feed");
  feed.prepend(li);
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
}

// ---- frames ----

function renderFrame(f) {
  const st = f.status;
  $("node-name").textContent = st.node;
  document.title = `Drover · ${st.node}`;
  const ready = $("ready");
  ready.textContent = st.ready ? "ready" : "not ready";
  ready.className = "badge " + (st.ready ? "good" : "bad");
  $("updated").textContent = "updated " + fmtTime(f.node.t);
  $("pressure").textContent = st.pressure && st.pressure !== "normal"
    ? `resource pressure: ${st.pressure}` : "";
  renderTotals(st, f.node);
  $("pools").replaceChildren(...st.pools.map((p, i) => renderPool(p, f.pools[i])));
  renderCluster(st.cluster);
  if (f.node.seconds > 0) {
    page.history.push(f.node);
    const cut = f.node.t - WINDOW_MS;
    while (page.history.length && page.history[0].t < cut) page.history.shift();
  }
  drawCharts();
  page.frames++;
  page.lastFrameAt = f.node.t;
}

// ---- stream ----

function connect() {
  const es = new EventSource("/events");
  es.addEventListener("hello", (m) => {
    const h = JSON.parse(m.data);
    page.intervalMS = h.interval_ms;
    page.history = h.history || [];
    $("node-name").textContent = h.node;
    setConn("live", "live");
    drawCharts();
  });
  es.addEventListener("frame", (m) => renderFrame(JSON.parse(m.data)));
  es.addEventListener("node", (m) => addEvent(JSON.parse(m.data)));
  es.addEventListener("dropped", (m) => {
    const d = JSON.parse(m.data);
    const e = $("dropped");
    e.hidden = false;
    e.textContent = `${d.events} events dropped (this page fell behind)`;
  });
  es.addEventListener("end", (m) => {
    es.close();
    setConn("ended", "ended: " + JSON.parse(m.data).reason + " (reload to reconnect)");
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      setConn("ended", "disconnected (reload to reconnect)");
    } else {
      const since = page.lastFrameAt ? ", numbers from " + fmtTime(page.lastFrameAt) : "";
      setConn("lost", "reconnecting" + since);
    }
  };
}

legend("legend-throughput", ["completed", "failed", "rejected"]);
legend("legend-latency", ["run p50", "run p99", "wait p50", "wait p99"]);
window.addEventListener("resize", drawCharts);
connect();
