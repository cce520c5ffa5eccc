// The demo dashboard: one server-sent event per second from `openstreaming demo`
// (/api/demo/events) carries every node's view; node panels read that node's own
// API directly (the node APIs allow any origin). No framework, nothing loaded
// from the internet: hls.js comes from npm at build time.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
let state = null;
let selectedNode = null;
let hls = null;
let playing = null;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const ether = (wei) => (wei ? (Number(BigInt(wei) / 1000000000000n) / 1e6).toFixed(4) : '—');
const colour = (status, score) =>
  status === 'shunned' ? '#f85149' : status === 'incoherent' || (score !== null && score !== undefined && score < 0.7) ? '#d29922' : '#3fb950';

// Layers: broadcaster on top, relays in rows, viewers at the bottom.
function layout(nodes) {
  const pos = {};
  const relays = nodes.filter((n) => n.role === 'relay');
  const viewers = nodes.filter((n) => n.role === 'viewer');
  const rows = [[nodes.find((n) => n.role === 'broadcaster')]];
  for (let i = 0; i < relays.length; i += 4) rows.push(relays.slice(i, i + 4));
  rows.push(viewers);
  const h = 520 / (rows.length + 0.2);
  rows.forEach((row, r) =>
    row.forEach((n, i) => {
      if (n) pos[n.name] = { x: (900 / (row.length + 1)) * (i + 1) + (r % 2 ? 30 : -30) * (row.length > 1 ? 1 : 0), y: h * (r + 0.6) };
    }),
  );
  return pos;
}

function drawMesh() {
  const svg = $('mesh');
  svg.replaceChildren();
  const defs = el('defs');
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 22, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' });
  marker.appendChild(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8b98a5' }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  const pos = layout(state.nodes);
  const byAddr = Object.fromEntries(state.nodes.map((n) => [n.address, n]));
  // Peer links (faint), then routes (arrows, coloured by the taker's rating of the giver).
  const seen = new Set();
  for (const n of state.nodes) {
    for (const nb of n.neighbors || []) {
      const o = byAddr[nb.address];
      if (!o || !nb.connected) continue;
      const key = [n.name, o.name].sort().join('|');
      if (seen.has(key)) continue;
      seen.add(key);
      svg.appendChild(el('line', { class: 'link', x1: pos[n.name].x, y1: pos[n.name].y, x2: pos[o.name].x, y2: pos[o.name].y }));
    }
  }
  for (const e of state.edges) {
    if (!pos[e.from] || !pos[e.to]) continue;
    svg.appendChild(el('line', { class: 'edge', x1: pos[e.from].x, y1: pos[e.from].y, x2: pos[e.to].x, y2: pos[e.to].y, stroke: colour(e.status, e.score) }));
  }
  for (const n of state.nodes) {
    const p = pos[n.name];
    const g = el('g', { class: 'node' + (n.alive ? '' : ' dead') + (n.misbehave ? ' bad' : ''), 'data-name': n.name, transform: `translate(${p.x},${p.y})` });
    const fill = n.role === 'broadcaster' ? '#58a6ff' : colour(null, n.rated);
    g.appendChild(el('circle', { r: n.role === 'relay' ? 16 : 20, fill }));
    g.appendChild(el('text', { y: 34 }, n.name + (n.misbehave ? ' ⚠' : '')));
    if (n.rated !== null && n.rated !== undefined) g.appendChild(el('text', { y: 4, 'font-size': 10 }, n.rated.toFixed(2)));
    g.addEventListener('click', () => openPanel(n.name));
    svg.appendChild(g);
  }
}

function drawEvents() {
  const ol = $('events');
  ol.replaceChildren();
  for (const e of [...state.events].reverse()) {
    const li = document.createElement('li');
    li.textContent = `${e.t.toFixed(1)} s  ${e.text}`;
    ol.appendChild(li);
  }
}

function drawLedger() {
  const st = state.ledger.status || {};
  const where = state.ledger.backend === 'evm' ? `EVM chain ${st.chain_id ?? ''} · ` : 'embedded · ';
  const gas = state.ledger.backend === 'evm' ? ` · gas paid ${ether(state.ledger.fees)} ether` : '';
  $('ledger-status').textContent = st.height !== undefined ? `${where}height ${st.height} · round ${st.round}${gas}` : '';
  const tb = $('accounts').querySelector('tbody');
  tb.replaceChildren();
  for (const a of state.ledger.accounts) {
    const tr = document.createElement('tr');
    for (const v of [a.name, ether(a.balance), ether(a.deposit), ether(a.reserve)]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.appendChild(td);
    }
    tb.appendChild(tr);
  }
  const svg = $('redeemed');
  svg.replaceChildren();
  const pts = state.ledger.redeemed;
  if (pts.length > 1) {
    const t0 = pts[0][0], t1 = pts[pts.length - 1][0], max = Math.max(1, ...pts.map((p) => p[1]));
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${((p[0] - t0) / Math.max(1, t1 - t0)) * 390 + 5},${75 - (p[1] / max) * 70}`).join(' ');
    svg.appendChild(el('path', { d, stroke: '#58a6ff', fill: 'none', 'stroke-width': 2 }));
    svg.appendChild(el('text', { x: 8, y: 14, fill: '#8b98a5', 'font-size': 11 }, `${pts[pts.length - 1][1]} redeemed`));
  }
}

function drawPlayer() {
  const sel = $('viewer-select');
  const viewers = state.nodes.filter((n) => n.role === 'viewer');
  if (sel.options.length !== viewers.length) {
    sel.replaceChildren(...viewers.map((v) => new Option(v.name, v.name)));
  }
  const v = viewers.find((x) => x.name === sel.value) || viewers[0];
  if (!v) return;
  const ready = v.stream && v.stream.stats && v.stream.stats.parts_received >= 4; // a playlist with a whole segment
  if (v.hls && ready && playing !== v.hls) play(v.hls);
  const lat = v.stream && v.stream.stats && v.stream.stats.latency_ms;
  const video = $('video');
  let live = '';
  if (hls && hls.latency) live = ` · player behind live edge ${hls.latency.toFixed(1)} s`;
  $('latency').textContent = lat ? `glass-to-glass at ${v.name}: p50 ${lat.p50.toFixed(0)} ms, p95 ${lat.p95.toFixed(0)} ms${live} · playing ${video.currentTime.toFixed(1)} s` : 'waiting for the stream…';
}

function play(url) {
  playing = url;
  const video = $('video');
  if (hls) hls.destroy();
  if (window.Hls && Hls.isSupported()) {
    hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
    hls.loadSource(url);
    hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
    hls.on(Hls.Events.ERROR, (_, d) => {
      if (d.fatal) playing = null; // start over at the next update
    });
  } else {
    video.src = url;
  }
}

// Nodes send no CORS headers: the demo server proxies them on this origin.
async function getJson(name, path) {
  const r = await fetch(`/node/${encodeURIComponent(name)}${path}`);
  return r.json();
}

function table(rows) {
  const t = document.createElement('table');
  t.className = 'kv';
  for (const [k, v] of rows) {
    const tr = document.createElement('tr');
    const a = document.createElement('td');
    a.textContent = k;
    const b = document.createElement('td');
    b.textContent = v;
    tr.append(a, b);
    t.appendChild(tr);
  }
  return t;
}

async function openPanel(name) {
  selectedNode = name;
  const n = state.nodes.find((x) => x.name === name);
  $('node-panel').classList.remove('hidden');
  $('panel-title').textContent = `${n.name} (${n.role})`;
  const body = $('panel-body');
  body.replaceChildren(table([['address', n.address], ['api', n.api], ['misbehaving on purpose', n.misbehave || 'no']]));
  if (!n.alive) return;
  try {
    const [mem, nbs, eco, pay] = await Promise.all(
        [ '/api/memory', '/api/neighbors', '/api/economics', '/api/payments' ].map((p) => getJson(n.name, p)));
    if (selectedNode !== name) return;
    const h = (t) => { const e = document.createElement('h3'); e.textContent = t; return e; };
    body.appendChild(h('Empathy: how it rates its neighbours'));
    body.appendChild(table(nbs.map((x) => [
      state.nodes.find((m) => m.address === x.address)?.name || x.address.slice(0, 10),
      `${x.status} ${x.coherence.score.toFixed(2)} (capacity ${x.coherence.components.capacity.ok ? '✓' : '✗'}, price ${x.coherence.components.price.ok ? '✓' : '✗'}, reliability ${x.coherence.components.reliability.ok ? '✓' : '✗'}, cooperation ${x.coherence.components.cooperation.ok ? '✓' : '✗'})`,
    ])));
    body.appendChild(h('Memory: predictions and their outcomes'));
    const preds = (mem.predictions || []).slice(-8).reverse();
    body.appendChild(table(preds.map((p) => [`${p.predictor}`, `predicted ${Number(p.predicted).toFixed(1)}, actual ${p.actual === null || p.actual === undefined ? '…' : Number(p.actual).toFixed(1)}`])));
    body.appendChild(h('Economics'));
    body.appendChild(table([
      ['quote (wei/MB)', eco.quote_wei_per_mb],
      ['cost (wei/MB)', eco.inputs && eco.inputs.cost_wei_per_mb],
      ['load', eco.inputs && `${Number(eco.inputs.load_pct).toFixed(1)} %`],
      ['earned (metered)', `${ether(eco.earnings_wei)} ether`],
      ['spent (metered)', `${ether(eco.spent_wei)} ether`],
    ]));
    body.appendChild(h('Payments'));
    body.appendChild(table([
      ['tickets sent / received', `${pay.tickets.sent} / ${pay.tickets.received}`],
      ['won / redeemed', `${pay.tickets.won} / ${pay.tickets.redeemed}`],
      ['winners queued', pay.winners_queued],
      ['redeemed', `${ether(pay.totals.redeemed_wei)} ether`],
      ['balance / deposit', pay.balance ? `${ether(pay.balance.balance)} / ${ether(pay.balance.deposit)} ether` : '—'],
    ]));
  } catch (e) {
    body.appendChild(document.createTextNode(`cannot read ${n.api}: ${e}`));
  }
}

$('close-panel').addEventListener('click', () => {
  selectedNode = null;
  $('node-panel').classList.add('hidden');
});
$('viewer-select').addEventListener('change', () => drawPlayer());

function render() {
  if (!state || !state.nodes) return;
  $('clock').textContent = `${state.t.toFixed(0)} s · ${state.nodes.length} nodes · stream ${state.stream.name}`;
  drawMesh();
  drawEvents();
  drawLedger();
  drawPlayer();
}

const source = new EventSource('/api/demo/events');
source.onmessage = (m) => {
  const s = JSON.parse(m.data);
  if (!s.nodes) return;
  state = s;
  render();
};
source.onerror = () => { $('clock').textContent = 'reconnecting…'; };
