// deltaprop playground: the page only draws. Every number arrives from the Python engine over the
// WebSocket (see deltaprop/playground/server.py); this file formats and draws it.
"use strict";

const TOKEN = document.body.dataset.token;
const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const COLORS = [[232, 113, 10], [8, 119, 189], [60, 160, 60], [150, 80, 190], [200, 60, 60], [90, 90, 90]];
const stats = { frames: 0, playStart: 0, playFrames: 0, playDrawMs: 0 };
const MAX_HISTORY = 600; // as session.py: past it, the first row and every other later one are kept
window.pgStats = stats;

let state = null;      // the last full state (config, data, labels) merged with later updates
let playing = false;
let socket = null;
const pending = [];    // resolvers of the requests sent, answered in order

// ----- numbers as `deltaprop explain` writes them: 4 digits after the point, or 3 significant
// digits in scientific notation when the value would show as 0 or is 10^6 or more
function fmt(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(3).replace(/e([+-])(\d)$/, "e$10$2");
  const s = v.toFixed(4);
  return s === "-0.0000" ? "0.0000" : s;
}

// ----- the connection -------------------------------------------------------------------------
function connect() {
  return new Promise((resolve, reject) => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${proto}://${location.host}/ws?token=${encodeURIComponent(TOKEN)}`);
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("cannot connect"));
    socket.onclose = () => { setStatus("disconnected: is `deltaprop playground` still running?", true); playing = false; };
    socket.onmessage = (ev) => { const r = pending.shift(); if (r) r(JSON.parse(ev.data)); };
  });
}

let slowTimer = null;
function request(msg) { // while an answer takes long (a first compile of the fast loop), the status says so
  clearTimeout(slowTimer);
  slowTimer = setTimeout(() => { if (pending.length) setStatus("computing… (a new depth compiles the fast SGD loop once: a few seconds)"); }, 800);
  return new Promise((resolve) => { pending.push(resolve); socket.send(JSON.stringify(msg)); });
}

async function send(msg) {
  const answer = await request(msg);
  handle(answer);
  return answer;
}

function handle(answer) {
  if (answer.type === "error") {
    setStatus(answer.message, true);
    if (answer.state) draw(answer.state);
    return;
  }
  if (answer.type === "formula") return;
  setStatus("");
  draw(answer);
}

function setStatus(text, error) {
  const s = $("status");
  s.textContent = text;
  s.className = error ? "error" : "";
}

// ----- drawing a state ---------------------------------------------------------------------------
function draw(st) {
  const t0 = performance.now();
  if (st.config) {
    state = st;
    fillControls(st);
  } else {
    const row = st.history_row;
    delete st.history_row;
    Object.assign(state, st);
    const h = state.history;
    if (h.length && h[h.length - 1][0] === row[0]) h[h.length - 1] = row; else h.push(row);
    if (h.length > MAX_HISTORY) state.history = [h[0]].concat(h.filter((_, k) => k >= 2 && k % 2 === 0));
  }
  drawCounters();
  drawGraph();
  drawParams();
  drawRegions();
  drawHidden();
  drawCurve();
  stats.frames += 1;
  if (playing) stats.playDrawMs += performance.now() - t0;
  document.body.dataset.updates = String(stats.frames);
}

function fillControls(st) {
  const c = st.config;
  $("sizes").value = c.sizes.join(",");
  $("activations").value = c.activations.join(",");
  $("cost").value = c.cost;
  $("init").value = c.init;
  $("seed").value = c.seed;
  $("eta").value = c.eta;
  $("steps").value = c.steps;
  $("notation").value = c.notation;
  if ([...$("dataset").options].some((o) => o.value === c.dataset)) $("dataset").value = c.dataset;
  const cls = $("clickclass");
  cls.innerHTML = "";
  st.data.classes.forEach((name, k) => { const o = document.createElement("option"); o.value = k; o.textContent = name; cls.appendChild(o); });
}

function drawCounters() {
  const acc = state.accuracy, g = state.graph;
  $("t").textContent = state.t;
  $("sample").value = state.sample;
  $("sample").max = Math.max(state.data.X.length - 1, 0);
  $("sample-xy").textContent = g.x ? `x = (${g.x.map(fmt).join(", ")}), y = (${g.y.map(fmt).join(", ")})` : "";
  $("cost-sample").textContent = g.cost === undefined ? "–" : fmt(g.cost);
  $("correct").textContent = acc.m ? `${acc.correct}/${acc.m}` : "–";
  $("test-acc").textContent = acc.test === null ? "–" : `${(100 * acc.test).toFixed(1)}%`;
}

function layout() { // the graph grows taller for wide layers, so that every node keeps its four lines
  const sizes = state.config.sizes, W = 640, L = sizes.length - 1;
  const H = Math.max(430, 60 + 64 * Math.max(...sizes));
  const nodeW = 94, nodeH = 58;
  $("graph").setAttribute("height", H);
  const xs = sizes.map((_, l) => 10 + (l * (W - 20 - nodeW)) / Math.max(L, 1));
  const pos = sizes.map((n, l) => {
    const gap = Math.min(96, (H - 40) / n);
    const top = 30 + (H - 30 - gap * n) / 2;
    return Array.from({ length: n }, (_, j) => ({ x: xs[l], y: 14 + top + j * gap + (gap - nodeH) / 2 }));
  });
  return { pos, nodeW, nodeH };
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function rgb(c, alpha) { return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`; }

// The graph's elements are made once per network shape and notation, then updated in place.
let graphKey = "", edges = [], nodes = [];

function buildGraph() {
  const svg = $("graph"), labels = state.labels, sizes = state.config.sizes, L = sizes.length - 1;
  const { pos, nodeW, nodeH } = layout();
  svg.innerHTML = "";
  edges = []; nodes = [];
  for (let l = 0; l <= L; l++) {
    el("text", { x: pos[l][0].x + nodeW / 2, y: 16, "text-anchor": "middle", class: "layer-label" }, svg)
      .textContent = `layer ${labels[l].layer}` + (l === 0 ? " (input)" : l === L ? " (output)" : "");
    el("text", { x: pos[l][0].x + nodeW / 2, y: 31, "text-anchor": "middle", class: "layer-symbols" }, svg)
      .textContent = l === 0 ? labels[0].a + " = x" : `${labels[l].z} ${labels[l].a} ${labels[l].delta}`;
  }
  for (let l = 1; l <= L; l++) {
    for (let i = 0; i < sizes[l - 1]; i++) {
      for (let j = 0; j < sizes[l]; j++) {
        const a = pos[l - 1][i], b = pos[l][j];
        const x1 = a.x + nodeW, y1 = a.y + nodeH / 2, x2 = b.x, y2 = b.y + nodeH / 2;
        const grp = el("g", {}, svg);
        const line = el("line", { x1, y1, x2, y2, class: "edge", "data-l": l, "data-i": i, "data-j": j }, grp);
        el("line", { x1, y1, x2, y2, class: "edge-hit" }, grp);
        const t = 0.2 + 0.45 * (sizes[l] > 1 ? j / (sizes[l] - 1) : 0.5), u = t + 0.12;
        const label = el("text", { x: x1 + t * (x2 - x1), y: y1 + t * (y2 - y1) - 3, class: "wlabel", "text-anchor": "middle" }, grp);
        if (sizes[l - 1] * sizes[l] > 12) label.setAttribute("visibility", "hidden"); // too many to read: hover or the table
        const dot = el("circle", { cx: x1 + u * (x2 - x1), cy: y1 + u * (y2 - y1), r: 0, stroke: "#000", "stroke-width": 0.6 }, grp);
        for (const e of grp.children) e.addEventListener("mouseenter", (ev) => hover(ev, { edge: [l, i, j] }));
        grp.addEventListener("mouseleave", unhover);
        grp.addEventListener("click", () => pick("W", l, i, j));
        edges.push({ l, i, j, line, label, dot });
      }
    }
  }
  for (let l = 0; l <= L; l++) {
    pos[l].forEach((p, j) => {
      const node = el("g", { class: "node", "data-l": l, "data-j": j, transform: `translate(${p.x},${p.y})` }, svg);
      el("rect", { width: nodeW, height: l === 0 ? 24 : nodeH, rx: 6 }, node);
      const texts = Array.from({ length: l === 0 ? 1 : 4 }, (_, k) => el("text", { x: 5, y: 15 + 13 * k }, node));
      node.addEventListener("mouseenter", (ev) => hover(ev, { node: [l, j] }));
      node.addEventListener("mouseleave", unhover);
      if (l > 0) node.addEventListener("click", () => pick("b", l, 0, j));
      nodes.push({ l, j, node, texts });
    });
  }
}

function drawGraph() {
  const key = JSON.stringify([state.config.sizes, state.labels]);
  if (key !== graphKey) { buildGraph(); buildParams(); graphKey = key; }
  const g = state.graph, phase = g.phase;
  const showF = phase !== "none" && g.z, showB = phase === "backward" && g.delta;
  let maxW = 1e-12, maxD = 1e-12;
  for (const { l, i, j } of edges) {
    maxW = Math.max(maxW, Math.abs(g.W[l - 1][i][j]));
    if (showB) maxD = Math.max(maxD, Math.abs(g.dW[l - 1][i][j]));
  }
  for (const { l, i, j, line, label, dot } of edges) {
    const w = g.W[l - 1][i][j], text = fmt(w);
    line.dataset.w = text;
    line.setAttribute("stroke", rgb(w >= 0 ? COLORS[1] : COLORS[0], 0.85));
    line.setAttribute("stroke-width", 0.8 + 6 * Math.abs(w) / maxW);
    label.textContent = text;
    if (showB) {
      const d = g.dW[l - 1][i][j];
      line.dataset.dw = fmt(d);
      dot.setAttribute("r", 1.5 + 6 * Math.sqrt(Math.abs(d) / maxD));
      dot.setAttribute("fill", rgb(d >= 0 ? COLORS[1] : COLORS[0], 0.9));
    } else {
      line.dataset.dw = "";
      dot.setAttribute("r", 0);
    }
  }
  for (const { l, j, node, texts } of nodes) {
    if (l === 0) {
      const v = g.a ? fmt(g.a[0][j]) : "";
      node.dataset.a = v;
      texts[0].textContent = `x${j + 1} = ${v}`;
      continue;
    }
    const z = showF ? fmt(g.z[l][j]) : "", a = showF ? fmt(g.a[l][j]) : "", d = showB ? fmt(g.delta[l][j]) : "";
    const b = fmt(g.b[l - 1][j]);
    Object.assign(node.dataset, { z, a, delta: d, b, db: showB ? fmt(g.db[l - 1][j]) : "" });
    texts[0].textContent = `z ${z || "·"}`;
    texts[1].textContent = `a ${a || "·"}`;
    texts[2].textContent = `δ ${d || "·"}`;
    texts[3].textContent = `b ${b}`;
  }
}

// The parameter table: one row per W and b entry, made with the graph, updated in place.
let paramRows = [];

function buildParams() {
  const body = $("params").querySelector("tbody"), labels = state.labels, sizes = state.config.sizes;
  body.innerHTML = "";
  paramRows = [];
  const add = (name, kind, l, i, j) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td>${name}</td><td></td><td></td>`;
    tr.addEventListener("click", () => pick(kind, l, i, j));
    body.appendChild(tr);
    paramRows.push({ kind, l, i, j, value: tr.children[1], grad: tr.children[2] });
  };
  for (let l = 1; l < sizes.length; l++) {
    const lab = labels[l];
    for (let i = 0; i < sizes[l - 1]; i++) {
      for (let j = 0; j < sizes[l]; j++) add(`${lab.W}_${lab.out_in ? `${j + 1}${i + 1}` : `${i + 1}${j + 1}`}`, "W", l, i, j);
    }
    for (let j = 0; j < sizes[l]; j++) add(`${lab.b}_${j + 1}`, "b", l, 0, j);
  }
}

function drawParams() {
  const g = state.graph, showB = g.phase === "backward" && g.dW;
  for (const { kind, l, i, j, value, grad } of paramRows) {
    value.textContent = fmt(kind === "W" ? g.W[l - 1][i][j] : g.b[l - 1][j]);
    grad.textContent = showB ? fmt(kind === "W" ? g.dW[l - 1][i][j] : g.db[l - 1][j]) : "·";
  }
}

function pick(kind, l, i, j) {
  $("set-kind").value = kind; $("set-l").value = l; $("set-i").value = i; $("set-j").value = j;
  const g = state.graph;
  $("set-value").value = kind === "W" ? g.W[l - 1][i][j] : g.b[l - 1][j];
  updateSetName();
  $("set-value").focus();
}

function updateSetName() {
  const lab = state && state.labels[+$("set-l").value];
  if (!lab) { $("set-name").textContent = ""; return; }
  const i = +$("set-i").value + 1, j = +$("set-j").value + 1;
  $("set-name").textContent = $("set-kind").value === "W" ? `${lab.W}_${lab.out_in ? `${j}${i}` : `${i}${j}`}` : `${lab.b}_${j}`;
}

// ----- formulas on hover: asked of the server, which writes them as `deltaprop explain` does
let hoverSeq = 0;
async function hover(ev, target) {
  const seq = ++hoverSeq, x = ev.clientX, y = ev.clientY;
  if (playing) return;
  const answer = await request({ op: "formula", target });
  if (seq !== hoverSeq) return;
  const tip = $("tooltip");
  tip.textContent = answer.type === "formula" ? answer.lines.join("\n") : answer.message;
  tip.hidden = false;
  tip.style.left = `${Math.min(x + 14, window.innerWidth - 640)}px`;
  tip.style.top = `${y + 14}px`;
}
function unhover() { hoverSeq++; $("tooltip").hidden = true; }

// ----- regions, hidden units, cost curve ------------------------------------------------------------
function bytes(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) out[k] = s.charCodeAt(k);
  return out;
}

// Colour tables: 256 entries of [r, g, b] for a byte.
const DIVERGING = Array.from({ length: 256 }, (_, q) => { // 0 orange, 128 white, 255 blue
  const t = q / 255, c = t < 0.5 ? COLORS[0] : COLORS[1], s = Math.abs(2 * t - 1);
  return [255 + (c[0] - 255) * s, 255 + (c[1] - 255) * s, 255 + (c[2] - 255) * s];
});
const SHADES = COLORS.map((c) => Array.from({ length: 256 }, (_, q) => { // a class colour, pale to deep
  const t = 0.15 + 0.6 * (q / 255);
  return [255 + (c[0] - 255) * t, 255 + (c[1] - 255) * t, 255 + (c[2] - 255) * t];
}));

const offscreen = document.createElement("canvas");
let image = null;
function paint(canvas, G, colourOf) { // colourOf(k) -> [r, g, b] of grid point k
  if (!image || image.width !== G) {
    offscreen.width = G; offscreen.height = G;
    image = offscreen.getContext("2d").createImageData(G, G);
  }
  const px = image.data;
  for (let k = 0, n = G * G; k < n; k++) {
    const c = colourOf(k);
    px[4 * k] = c[0]; px[4 * k + 1] = c[1]; px[4 * k + 2] = c[2]; px[4 * k + 3] = 255;
  }
  offscreen.getContext("2d").putImageData(image, 0, 0);
  const out = canvas.getContext("2d");
  out.imageSmoothingEnabled = true;
  out.drawImage(offscreen, 0, 0, canvas.width, canvas.height);
}

function toCanvas(canvas, x1, x2) {
  const [a, b, c, d] = state.data.extent;
  return [((x1 - a) / (b - a)) * canvas.width, ((d - x2) / (d - c)) * canvas.height];
}

function drawRegions() {
  const r = state.regions, canvas = $("regions"), G = r.G;
  if (r.mode === "classes") {
    const cls = bytes(r.cls), s = bytes(r.strength);
    paint(canvas, G, (k) => SHADES[cls[k] % SHADES.length][s[k]]);
    $("regions-mode").textContent = "(colour: predicted class; depth: margin)";
  } else {
    const v = bytes(r.value);
    paint(canvas, G, (k) => DIVERGING[v[k]]);
    $("regions-mode").textContent = `(surface a^(L) from ${fmt(r.lo)} to ${fmt(r.hi)})`;
  }
  const ctx = canvas.getContext("2d"), d = state.data;
  const dot = (x, y, k, test, selected) => {
    const [px, py] = toCanvas(canvas, x, y);
    ctx.beginPath(); ctx.arc(px, py, selected ? 7 : 5, 0, 2 * Math.PI);
    ctx.fillStyle = test ? "rgba(255,255,255,0.7)" : rgb(COLORS[k % COLORS.length], 1);
    ctx.strokeStyle = test ? rgb(COLORS[k % COLORS.length], 1) : "#000";
    ctx.lineWidth = selected ? 3 : test ? 2 : 1;
    ctx.fill(); ctx.stroke();
  };
  const same = d.X_test.length === d.X.length && d.X_test.every((p, k) => p[0] === d.X[k][0] && p[1] === d.X[k][1]);
  if (!same) d.X_test.forEach((p, k) => dot(p[0], p[1], d.y_test[k], true, false));
  d.X.forEach((p, k) => dot(p[0], p[1], d.y[k], false, k === state.sample));
}

function drawHidden() {
  const box = $("hidden"), maps = state.regions.hidden, G = state.regions.hidden_G;
  if (box.children.length !== maps.length) {
    box.innerHTML = "";
    maps.forEach(() => {
      const f = document.createElement("figure");
      f.innerHTML = `<canvas width="64" height="64"></canvas><figcaption></figcaption>`;
      box.appendChild(f);
    });
  }
  maps.forEach((m, k) => {
    const f = box.children[k], v = bytes(m.value);
    paint(f.querySelector("canvas"), G, (q) => DIVERGING[v[q]]);
    f.querySelector("figcaption").textContent = `${state.labels[m.l].a}_${m.j + 1}`;
    f.title = `${state.labels[m.l].a}_${m.j + 1} over the plot, from ${fmt(m.lo)} (orange) to ${fmt(m.hi)} (blue)`;
  });
}

function drawCurve() {
  const canvas = $("curve"), ctx = canvas.getContext("2d"), h = state.history;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!h.length) return;
  let top = 1e-12;
  h.forEach((r) => { if (r[1] !== null) top = Math.max(top, r[1]); if (r[2] !== null) top = Math.max(top, r[2]); });
  const tMax = Math.max(h[h.length - 1][0], 1), W = canvas.width - 40, H = canvas.height - 20;
  ctx.fillStyle = "#567"; ctx.font = "10px sans-serif";
  ctx.fillText(fmt(top), 2, 10); ctx.fillText("0", 2, H + 4); ctx.fillText(`${tMax} steps`, W - 20, H + 16);
  for (const [col, color] of [[2, "#e8710a"], [1, "#183d5d"]]) {
    ctx.beginPath(); ctx.strokeStyle = color; ctx.lineWidth = 1.5;
    h.forEach((r, k) => {
      if (r[col] === null) return;
      const x = 36 + (r[0] / tMax) * W, y = 4 + H * (1 - r[col] / top);
      if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}

// ----- controls ------------------------------------------------------------------------------------
function numbers(text) { return text.split(",").map((s) => Number(s.trim())); }
function names(text) { return text.split(",").map((s) => s.trim()); }

function config() {
  return { sizes: numbers($("sizes").value), activations: names($("activations").value), cost: $("cost").value,
    init: Number($("init").value), seed: Number($("seed").value), eta: Number($("eta").value),
    steps: Number($("steps").value), dataset: $("dataset").value, notation: $("notation").value };
}

async function play() {
  if (playing) { playing = false; return; }
  const answer = await tune();
  if (answer.type === "error") return;
  playing = true;
  $("play").textContent = "Pause"; $("play").classList.add("on");
  stats.playStart = performance.now(); stats.playFrames = 0; stats.playDrawMs = 0;
  // one request always in flight: the server takes the next steps while this update is drawn
  let next = request({ op: "play" });
  while (next) {
    const st = await next;
    next = playing && st.type !== "error" ? request({ op: "play" }) : null;
    handle(st);
    if (st.type === "error") break;
    stats.playFrames += 1;
    await new Promise((r) => requestAnimationFrame(r));
  }
  playing = false;
  $("play").textContent = "Play"; $("play").classList.remove("on");
}

function tune() {
  return send({ op: "tune", config: { eta: Number($("eta").value), steps: Number($("steps").value),
    notation: $("notation").value } });
}

let stepping = false; // a "Steps ×" run is going: its button says Stop
async function stepBy(n) {
  const answer = await tune();
  if (answer.type === "error") return;
  stepping = true;
  $("stepn").textContent = "Stop";
  try { await send({ op: "step", n }); } finally { stepping = false; $("stepn").textContent = "Steps ×"; }
}

function download(what) {
  return `/download/${what}?token=${encodeURIComponent(TOKEN)}`;
}

async function upload(file) {
  const res = await fetch(`/upload?token=${encodeURIComponent(TOKEN)}`, { method: "POST", body: file });
  const text = await res.text();
  if (!res.ok) { setStatus(text, true); return; }
  await send({ op: "hello" }); // the new data and network
  setStatus(text);
}

function wire() {
  $("build").onclick = () => send({ op: "build", config: config() });
  $("notation").onchange = tune;
  $("forward").onclick = () => send({ op: "forward" });
  $("backward").onclick = () => send({ op: "backward" });
  $("step1").onclick = () => stepBy(1);
  $("stepn").onclick = () => (stepping ? send({ op: "stop" }) : stepBy(Number($("nsteps").value)));
  $("play").onclick = play;
  $("rewind").onclick = () => { playing = false; send({ op: "rewind" }); };
  $("sample").onchange = () => send({ op: "select", sample: Number($("sample").value) });
  $("set-btn").onclick = () => send({ op: "set", kind: $("set-kind").value, l: Number($("set-l").value),
    i: Number($("set-i").value), j: Number($("set-j").value), value: Number($("set-value").value) });
  for (const id of ["set-kind", "set-l", "set-i", "set-j"]) $(id).onchange = updateSetName;
  $("upload").onchange = () => { if ($("upload").files.length) upload($("upload").files[0]); };
  $("dl-model").href = download("model.safetensors");
  $("dl-md").href = download("explain.md");
  $("dl-tex").href = download("explain.tex");
  $("dl-png").onclick = () => { $("dl-png").href = $("regions").toDataURL("image/png"); };
  $("regions").onclick = (ev) => {
    const c = $("regions"), rect = c.getBoundingClientRect(), [a, b, cc, d] = state.data.extent;
    const px = ((ev.clientX - rect.left) / rect.width) * c.width, py = ((ev.clientY - rect.top) / rect.height) * c.height;
    if ($("clickmode").checked) {
      send({ op: "point", x1: a + (px / c.width) * (b - a), x2: d - (py / c.height) * (d - cc), label: Number($("clickclass").value) });
      return;
    }
    let best = -1, dist = 12;
    state.data.X.forEach((p, k) => {
      const [qx, qy] = toCanvas(c, p[0], p[1]), r = Math.hypot(qx - px, qy - py);
      if (r < dist) { dist = r; best = k; }
    });
    if (best >= 0) send({ op: "select", sample: best });
  };
}

wire();
connect().then(() => send({ op: "hello" })).catch(() => setStatus("cannot connect to the playground server", true));
