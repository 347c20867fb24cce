// A self-contained HTML page per execution: the state machine drawn as the
// Step Functions console's graph view draws it (states as boxes, transitions
// as arrows, Map and Parallel as containers, Choice rules on their arrows,
// Catch transitions dashed), each state coloured by its outcome in this
// execution, the input / output / error of a state shown on click.
//
// Everything is inline: the SVG (laid out here by a small layered layout:
// longest-path layers, barycentre ordering, containers sized by their
// contents), the CSS and the script (allowed by their SHA-256 in a
// Content-Security-Policy whose default is 'none', so the page can load
// nothing), and the execution's data as a JSON block the script reads.
// The outcomes come from the execution's history (GetExecutionHistory's
// events, local or fetched from AWS) and its definition.
//
// CLI: node view.mjs --definition ASL.json --history HISTORY.json
//                    [--describe DESCRIBE.json] --out VIEW.html
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// ---- outcomes from the history ----

// Outcome of a state, worst first: what the box shows when its runs differ
// (e.g. Map iterations).
export const OUTCOMES = ['failed', 'caught', 'waiting', 'running', 'cancelled', 'retried', 'succeeded', 'not-run'];
const LABELS = {
  failed: 'Failed', caught: 'Caught error', waiting: 'Waiting', running: 'In progress', cancelled: 'Cancelled',
  retried: 'Succeeded after retry', succeeded: 'Succeeded', 'not-run': 'Not run',
};
export const COLOURS = {
  failed: ['#fde2e1', '#d13212'], caught: ['#ffe8cc', '#e07700'], waiting: ['#e5e0ff', '#6842ff'],
  running: ['#dbeeff', '#0972d3'], cancelled: ['#eaeded', '#687078'], retried: ['#f4f4c3', '#8d8d00'],
  succeeded: ['#d9f2e3', '#037f0c'], 'not-run': ['#ffffff', '#8c959f'],
};

const FAILURE_TYPES = new Set(['TaskFailed', 'TaskTimedOut', 'TaskStartFailed', 'TaskSubmitFailed', 'LambdaFunctionFailed',
  'LambdaFunctionTimedOut', 'LambdaFunctionStartFailed', 'LambdaFunctionScheduleFailed', 'MapStateFailed', 'ParallelStateFailed',
  'ActivityFailed', 'ActivityTimedOut', 'MapRunFailed']);

function containers(definition) {
  const byName = new Map();
  const walk = (states, container) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      byName.set(name, { state, container });
      const inner = state.ItemProcessor ?? state.Iterator;
      if (state.Type === 'Map' && inner) walk(inner.States, name);
      for (const b of state.Branches ?? []) walk(b.States, name);
    }
  };
  walk(definition.States, null);
  return byName;
}

const parse = (text) => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

// Per state: its runs (one per entry into it; per Map iteration inside a
// Map), each with input, output, error, retries and status, and the
// state's outcome.
export function stateOutcomes(definition, events, executionStatus = 'SUCCEEDED') {
  const info = containers(definition);
  const byId = new Map(events.map((e) => [e.id, e]));
  const runs = new Map(); // state name -> runs
  const runOfEvent = new Map(); // event id -> the run it belongs to
  const openParallels = [];
  const iterationOf = new Map(); // event id -> Map iteration index
  const iterationStatus = new Map(); // `${map}[${index}]` -> Succeeded/Failed/Aborted
  const running = executionStatus === 'RUNNING';

  for (const e of events) {
    const prev = byId.get(e.previousEventId);
    if (e.type === 'MapIterationStarted') iterationOf.set(e.id, e.mapIterationStartedEventDetails.index);
    else if (prev && iterationOf.has(prev.id) && !/^MapIteration(Succeeded|Failed|Aborted)$/.test(e.type)) iterationOf.set(e.id, iterationOf.get(prev.id));
    for (const end of ['Succeeded', 'Failed', 'Aborted']) {
      const d = e[`mapIteration${end}EventDetails`];
      if (d && e.type === `MapIteration${end}`) iterationStatus.set(`${d.name}[${d.index}]`, end);
    }
    const entered = e.stateEnteredEventDetails;
    if (entered && e.type.endsWith('StateEntered')) {
      const c = info.get(entered.name);
      const iteration = c && c.container && info.get(c.container)?.state.Type === 'Map' ? iterationOf.get(e.id) : undefined;
      const run = { iteration, input: parse(entered.input), enteredAt: e.timestamp, retries: 0, scheduled: 0, failures: [], type: e.type.replace(/StateEntered$/, '') };
      if (!runs.has(entered.name)) runs.set(entered.name, []);
      runs.get(entered.name).push(run);
      run.name = entered.name;
      runOfEvent.set(e.id, run);
      if (e.type === 'ParallelStateEntered') openParallels.push(run);
      continue;
    }
    // Events without a name belong to the state of the event before them,
    // except a Parallel's end, which follows its last branch's event.
    let run = prev ? runOfEvent.get(prev.id) : undefined;
    if (/^ParallelState(Succeeded|Failed|Aborted)$/.test(e.type)) run = openParallels.at(-1);
    if (/^MapIteration|^MapState(Succeeded|Failed|Aborted)$/.test(e.type)) {
      const name = e.mapIterationStartedEventDetails?.name ?? e.mapIterationSucceededEventDetails?.name
        ?? e.mapIterationFailedEventDetails?.name ?? e.mapIterationAbortedEventDetails?.name;
      const candidates = runs.get(name) ?? [];
      run = name ? candidates.at(-1) : run;
      if (!name && prev && /^MapIteration/.test(prev.type)) run = (runs.get(prev[`mapIteration${prev.type.slice(12)}EventDetails`].name) ?? []).at(-1);
    }
    if (!run) continue;
    runOfEvent.set(e.id, run);
    if (e.type === 'TaskScheduled' || e.type === 'LambdaFunctionScheduled') {
      run.scheduled++;
      if (run.scheduled > 1) run.retries++;
      const d = e.taskScheduledEventDetails;
      run.parameters = d ? parse(d.parameters) : parse(e.lambdaFunctionScheduledEventDetails?.input);
      run.resource = d ? `${d.resourceType}:${d.resource}` : e.lambdaFunctionScheduledEventDetails?.resource;
      run.waiting = false;
    } else if (e.type === 'TaskSubmitted') {
      run.waiting = true;
    } else if (e.type === 'TaskSucceeded' || e.type === 'LambdaFunctionSucceeded') {
      run.result = parse((e.taskSucceededEventDetails ?? e.lambdaFunctionSucceededEventDetails).output);
      run.waiting = false;
    } else if (FAILURE_TYPES.has(e.type)) {
      const d = Object.entries(e).find(([k]) => k.endsWith('EventDetails'))?.[1] ?? {};
      run.failures.push({ type: e.type, error: d.error ?? 'States.TaskFailed', cause: parse(d.cause) });
      run.waiting = false;
    } else if (e.type === 'MapStateStarted') {
      run.length = e.mapStateStartedEventDetails?.length;
    } else if (e.type.endsWith('StateExited')) {
      run.exited = true;
      run.output = parse(e.stateExitedEventDetails?.output);
      if (e.type === 'ParallelStateExited') openParallels.splice(openParallels.indexOf(run), 1);
    } else if (e.type.endsWith('StateAborted')) {
      run.aborted = true;
    }
  }

  const result = {};
  for (const [name, { state, container }] of info) {
    const list = runs.get(name) ?? [];
    for (const run of list) {
      const lastFailed = run.failures.length > 0 && run.failures.length >= run.scheduled && run.scheduled > 0;
      const failedNow = state.Type === 'Fail' || (run.failures.length > 0 && (lastFailed || !run.exited) && !run.aborted);
      if (state.Type === 'Fail') {
        run.status = 'failed';
        run.failures.push({ type: 'FailStateEntered', error: state.Error ?? state.ErrorPath ?? '', cause: state.Cause ?? state.CausePath ?? '' });
      } else if (run.exited && failedNow) run.status = 'caught';
      else if (run.exited) run.status = run.retries > 0 ? 'retried' : 'succeeded';
      else if (failedNow) run.status = 'failed';
      else if (run.aborted || (run.iteration !== undefined && iterationStatus.get(`${container}[${run.iteration}]`) === 'Aborted')) run.status = 'cancelled';
      else if (running) run.status = run.waiting ? 'waiting' : 'running';
      else run.status = 'cancelled';
    }
    const counts = {};
    for (const run of list) counts[run.status] = (counts[run.status] ?? 0) + 1;
    const outcome = list.length === 0 ? 'not-run' : OUTCOMES.find((o) => counts[o]);
    const retries = list.reduce((n, r) => n + r.retries, 0);
    result[name] = { name, type: state.Type, outcome, counts, retries, runs: list, comment: state.Comment };
  }
  return result;
}

// ---- layout ----

const BOX_H = 38;
const GAP_X = 36;
const GAP_Y = 46;
const PAD = 18;
const HEADER = 26;

function textWidth(text, size = 13) {
  return Math.ceil([...text].length * size * 0.6);
}

// The transitions out of a state: [{ to, kind: 'next'|'choice'|'default'|'catch', label }].
function transitions(state) {
  const out = [];
  if (state.Next) out.push({ to: state.Next, kind: 'next' });
  for (const c of state.Choices ?? []) out.push({ to: c.Next, kind: 'choice', label: choiceLabel(c) });
  if (state.Default) out.push({ to: state.Default, kind: 'default', label: 'Default' });
  for (const c of state.Catch ?? []) out.push({ to: c.Next, kind: 'catch', label: `Catch ${(c.ErrorEquals ?? []).join(', ')}` });
  return out;
}

const OPS = {
  StringEquals: '==', NumericEquals: '==', BooleanEquals: '==', TimestampEquals: '==', NumericGreaterThan: '>',
  NumericGreaterThanEquals: '>=', NumericLessThan: '<', NumericLessThanEquals: '<=', StringGreaterThan: '>', StringLessThan: '<',
  IsPresent: 'is present', IsNull: 'is null', StringMatches: 'matches',
};

function choiceLabel(rule) {
  const describe = (r) => {
    if (r.And) return r.And.map(describe).join(' and ');
    if (r.Or) return r.Or.map(describe).join(' or ');
    if (r.Not) return `not (${describe(r.Not)})`;
    const op = Object.keys(r).find((k) => k !== 'Variable' && k !== 'Next');
    if (!op) return r.Condition ?? '?';
    const sym = OPS[op.replace(/Path$/, '')] ?? op;
    return `${r.Variable} ${sym} ${typeof r[op] === 'string' ? r[op] : JSON.stringify(r[op])}`;
  };
  const text = describe(rule);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

// Lays out one state machine (the top one, a Map's ItemProcessor or a
// Parallel branch): returns { w, h, nodes, edges } in its own coordinates.
function layoutMachine(machine, top) {
  const states = machine.States ?? {};
  const names = Object.keys(states);
  // Nodes with their sizes; containers hold their inner layouts.
  const nodes = new Map();
  for (const name of names) {
    const state = states[name];
    const node = { name, state, type: state.Type };
    if (state.Type === 'Map' && (state.ItemProcessor ?? state.Iterator)) {
      const inner = layoutMachine(state.ItemProcessor ?? state.Iterator, false);
      node.inner = [inner];
      node.w = Math.max(inner.w + 2 * PAD, textWidth(name) + 120);
      node.h = inner.h + HEADER + 2 * PAD;
    } else if (state.Type === 'Parallel') {
      const inner = (state.Branches ?? []).map((b) => layoutMachine(b, false));
      node.inner = inner;
      const w = inner.reduce((s, b) => s + b.w, 0) + GAP_X * Math.max(0, inner.length - 1);
      node.w = Math.max(w + 2 * PAD, textWidth(name) + 120);
      node.h = Math.max(0, ...inner.map((b) => b.h)) + HEADER + 2 * PAD;
    } else {
      node.w = Math.max(150, textWidth(name) + 36);
      node.h = BOX_H;
    }
    nodes.set(name, node);
  }
  if (top) {
    nodes.set('\u0000start', { name: 'Start', pseudo: 'start', w: 64, h: 26 });
    nodes.set('\u0000end', { name: 'End', pseudo: 'end', w: 64, h: 26 });
  }
  const edges = [];
  if (top && machine.StartAt) edges.push({ from: '\u0000start', to: machine.StartAt, kind: 'next' });
  for (const name of names) {
    const state = states[name];
    for (const t of transitions(state)) if (nodes.has(t.to)) edges.push({ from: name, ...t });
    if (top && (state.End || state.Type === 'Succeed' || state.Type === 'Fail')) edges.push({ from: name, to: '\u0000end', kind: 'next' });
  }

  // Layers: longest path from the start over forward edges (a DFS marks the
  // edges that close a cycle as back edges).
  const out = new Map([...nodes.keys()].map((k) => [k, []]));
  for (const e of edges) out.get(e.from).push(e);
  const startKey = top ? '\u0000start' : machine.StartAt;
  const order = [];
  const state = new Map();
  const visit = (k) => {
    state.set(k, 'open');
    for (const e of out.get(k)) {
      if (state.get(e.to) === 'open') e.back = true;
      else if (!state.has(e.to)) visit(e.to);
    }
    state.set(k, 'done');
    order.push(k);
  };
  if (nodes.has(startKey)) visit(startKey);
  for (const k of nodes.keys()) if (!state.has(k) && k !== '\u0000end') visit(k);
  if (nodes.has('\u0000end') && !state.has('\u0000end')) visit('\u0000end');
  order.reverse();
  const layer = new Map(order.map((k) => [k, 0]));
  for (const k of order) {
    for (const e of out.get(k)) if (!e.back) layer.set(e.to, Math.max(layer.get(e.to), layer.get(k) + 1));
  }
  if (top) layer.set('\u0000end', Math.max(...[...layer.values()]) + (layer.size > 1 ? 0 : 1));
  const layers = [];
  for (const k of order) (layers[layer.get(k)] ??= []).push(k);

  // Order within layers by the barycentre of predecessors, twice; the
  // error path (states reached only through Catch) goes to the right, as
  // the console draws it.
  const preds = new Map([...nodes.keys()].map((k) => [k, []]));
  for (const e of edges) if (!e.back) preds.get(e.to).push(e.from);
  const errorPath = new Set();
  for (const k of order) {
    const ins = edges.filter((e) => e.to === k && !e.back);
    if (k !== '\u0000end' && ins.length > 0 && ins.every((e) => e.kind === 'catch' || errorPath.has(e.from))) errorPath.add(k);
  }
  const pos = new Map();
  const place = () => {
    let maxW = 0;
    const widths = layers.map((ks) => ks.reduce((s, k) => s + nodes.get(k).w, 0) + GAP_X * Math.max(0, ks.length - 1));
    maxW = Math.max(...widths, 0);
    layers.forEach((ks, i) => {
      let x = (maxW - widths[i]) / 2;
      for (const k of ks) {
        pos.set(k, x + nodes.get(k).w / 2);
        x += nodes.get(k).w + GAP_X;
      }
    });
    return maxW;
  };
  place();
  for (let pass = 0; pass < 2; pass++) {
    for (const ks of layers) {
      const bary = (k) => {
        const p = preds.get(k).filter((q) => pos.has(q));
        return p.length ? p.reduce((s, q) => s + pos.get(q), 0) / p.length : pos.get(k);
      };
      ks.sort((a, b) => (errorPath.has(a) - errorPath.has(b)) || (bary(a) - bary(b)));
    }
    place();
  }
  let width = place();
  // The error path in a column of its own on the right.
  if (top && errorPath.size > 0) {
    let right = 0;
    for (const [k, n] of nodes) if (!errorPath.has(k)) right = Math.max(right, pos.get(k) + n.w / 2);
    const column = Math.max(...[...errorPath].map((k) => nodes.get(k).w));
    for (const ks of layers) {
      let x = right + GAP_X * 1.5;
      for (const k of ks.filter((q) => errorPath.has(q))) {
        pos.set(k, x + column / 2);
        x += column + GAP_X;
      }
    }
    width = Math.max(...[...nodes].map(([k, n]) => pos.get(k) + n.w / 2));
  }
  let y = 0;
  const placed = [];
  layers.forEach((ks) => {
    const h = Math.max(...ks.map((k) => nodes.get(k).h));
    for (const k of ks) {
      const n = nodes.get(k);
      n.x = pos.get(k) - n.w / 2;
      n.y = y + (h - n.h) / 2;
      placed.push(n);
    }
    y += h + GAP_Y;
  });
  // Containers place their inner layouts.
  for (const n of placed) {
    if (!n.inner) continue;
    const total = n.inner.reduce((s, b) => s + b.w, 0) + GAP_X * Math.max(0, n.inner.length - 1);
    let x = n.x + (n.w - total) / 2;
    for (const b of n.inner) {
      b.ox = x;
      b.oy = n.y + HEADER + PAD;
      x += b.w + GAP_X;
    }
  }
  return { w: Math.max(width, 1), h: Math.max(y - GAP_Y, 1), nodes: placed, edges, byName: nodes };
}

// ---- SVG ----

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function badge(o) {
  if (!o || o.outcome === 'not-run') return '';
  const parts = [];
  const n = o.runs.length;
  if (o.runs.some((r) => r.iteration !== undefined)) {
    const ok = (o.counts.succeeded ?? 0) + (o.counts.retried ?? 0);
    parts.push(`${ok}/${n} succeeded`);
    for (const k of ['failed', 'caught', 'cancelled', 'waiting', 'running']) if (o.counts[k]) parts.push(`${o.counts[k]} ${k}`);
  } else if (o.outcome === 'caught') parts.push('caught');
  else if (o.outcome === 'failed') parts.push('failed');
  else if (o.outcome === 'waiting') parts.push('waiting');
  if (o.retries > 0) parts.push(`retried ${o.retries}×`);
  if (o.runs.length > 1 && !o.runs.some((r) => r.iteration !== undefined)) parts.push(`${n} runs`);
  return parts.join(' · ');
}

function renderMachine(layout, ox, oy, outcomes, out, ended) {
  const at = (n) => ({ x: ox + n.x, y: oy + n.y });
  for (const e of layout.edges) {
    const a = layout.byName.get(e.from);
    const b = layout.byName.get(e.to);
    const pa = at(a);
    const pb = at(b);
    const x1 = pa.x + a.w / 2;
    const y1 = pa.y + a.h;
    const x2 = pb.x + b.w / 2;
    const y2 = pb.y;
    let d;
    if (e.back || y2 <= y1) {
      const side = Math.max(pa.x + a.w, pb.x + b.w) + 24;
      d = `M${pa.x + a.w} ${pa.y + a.h / 2} C${side} ${pa.y + a.h / 2} ${side} ${pb.y + b.h / 2} ${pb.x + b.w} ${pb.y + b.h / 2}`;
    } else {
      const dy = Math.max(18, (y2 - y1) / 2);
      d = `M${x1} ${y1} C${x1} ${y1 + dy} ${x2} ${y2 - dy} ${x2} ${y2}`;
    }
    const ran = (n) => (n.pseudo === 'start' ? true : n.pseudo === 'end' ? ended : (outcomes[n.name]?.outcome ?? 'not-run') !== 'not-run');
    const taken = ran(a) && ran(b);
    out.push(`<path class="edge ${e.kind}${taken ? ' taken' : ''}" d="${d}" data-from="${esc(a.name)}" data-to="${esc(b.name)}" marker-end="url(#arrow)"/>`);
    // A Catch arrow is labelled where it was taken: there are many of them.
    if (e.label && (e.kind !== 'catch' || taken)) {
      const lx = (x1 + x2) / 2 + (x2 >= x1 ? 6 : -6);
      const ly = (y1 + y2) / 2;
      out.push(`<text class="edge-label" x="${lx}" y="${ly}" text-anchor="${x2 >= x1 ? 'start' : 'end'}">${esc(e.label)}</text>`);
    }
  }
  for (const n of layout.nodes) {
    const { x, y } = at(n);
    if (n.pseudo) {
      out.push(`<g class="pseudo"><rect x="${x}" y="${y}" width="${n.w}" height="${n.h}" rx="13" fill="#232f3e"/>`
        + `<text x="${x + n.w / 2}" y="${y + 17}" text-anchor="middle" fill="#ffffff">${n.name}</text></g>`);
      continue;
    }
    const o = outcomes[n.name];
    const outcome = o?.outcome ?? 'not-run';
    const [fill, stroke] = COLOURS[outcome];
    const b = badge(o);
    const title = `${n.name} (${n.type}): ${LABELS[outcome]}${b ? ` — ${b}` : ''}`;
    if (n.inner) {
      out.push(`<g class="state container st-${outcome}" data-state="${esc(n.name)}" data-outcome="${outcome}" tabindex="0" role="button">`
        + `<title>${esc(title)}</title>`
        + `<rect x="${x}" y="${y}" width="${n.w}" height="${n.h}" rx="8" fill="${fill}" fill-opacity="0.35" stroke="${stroke}" stroke-dasharray="6 4"/>`
        + `<text class="name" x="${x + 10}" y="${y + 18}" fill="#16191f">${esc(n.name)}</text>`
        + `<text class="kind" x="${x + n.w - 10}" y="${y + 18}" text-anchor="end">${esc(n.type)}${b ? ` · ${esc(b)}` : ''}</text></g>`);
      // Inner layouts are placed in this machine's coordinates.
      for (const inner of n.inner) renderMachine(inner, ox + inner.ox, oy + inner.oy, outcomes, out, ended);
      continue;
    }
    const rx = n.type === 'Choice' ? 18 : 6;
    out.push(`<g class="state st-${outcome}" data-state="${esc(n.name)}" data-outcome="${outcome}" tabindex="0" role="button">`
      + `<title>${esc(title)}</title>`
      + `<rect x="${x}" y="${y}" width="${n.w}" height="${n.h}" rx="${rx}" fill="${fill}" stroke="${stroke}"${outcome === 'not-run' ? ' stroke-dasharray="4 3"' : ''}/>`
      + `<text class="name" x="${x + n.w / 2}" y="${y + (b ? 16 : 23)}" text-anchor="middle" fill="#16191f">${esc(n.name)}</text>`
      + (b ? `<text class="badge" x="${x + n.w / 2}" y="${y + 31}" text-anchor="middle" fill="${stroke}">${esc(b)}</text>` : '')
      + '</g>');
  }
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#16191f;background:#f2f3f3}
header{background:#232f3e;color:#fff;padding:10px 18px}
header h1{font-size:17px;margin:0 0 4px}
header .meta{font-size:12.5px;opacity:.9}
.status{display:inline-block;padding:1px 8px;border-radius:9px;font-weight:600;font-size:12px}
.status.SUCCEEDED{background:#037f0c}.status.FAILED,.status.TIMED_OUT{background:#d13212}.status.RUNNING{background:#0972d3}.status.ABORTED{background:#687078}
main{display:flex;gap:14px;padding:14px;align-items:flex-start}
#graph{background:#fff;border:1px solid #d5dbdb;border-radius:8px;overflow:auto;flex:1 1 auto;max-height:calc(100vh - 120px)}
#details{background:#fff;border:1px solid #d5dbdb;border-radius:8px;padding:12px 14px;width:330px;flex:0 0 330px;max-height:calc(100vh - 120px);overflow:auto}
#details h2{font-size:15px;margin:0 0 6px}
#details h3{font-size:12.5px;margin:10px 0 3px;text-transform:uppercase;color:#545b64}
#details pre{background:#f7f8f8;border:1px solid #e9ebed;padding:6px;font-size:11.5px;white-space:pre-wrap;word-break:break-all;max-height:130px;overflow:auto;margin:0}
#details .error{color:#d13212}
.legend{display:flex;flex-wrap:wrap;gap:10px;font-size:12px;padding:8px 14px 0}
.legend span{display:inline-flex;align-items:center;gap:4px}
svg text{font-size:13px}
svg .badge,svg .kind{font-size:11px}
svg .kind{fill:#545b64}
svg .edge{fill:none;stroke:#aab7b8;stroke-width:1.4}
svg .edge.taken{stroke:#545b64;stroke-width:1.8}
svg .edge.catch{stroke-dasharray:5 4;stroke-opacity:.45}
svg .edge.catch.taken{stroke:#e07700;stroke-opacity:1}
svg .edge-label{font-size:10.5px;fill:#687078}
svg .state{cursor:pointer}
svg .state:focus{outline:none}
svg .state.selected>rect{stroke-width:3}
svg rect{stroke-width:1.6}
table{border-collapse:collapse;font-size:12px;width:100%}
td,th{border-bottom:1px solid #e9ebed;padding:3px 6px;text-align:left;vertical-align:top}
details.events{margin:0 14px 14px;background:#fff;border:1px solid #d5dbdb;border-radius:8px;padding:8px 12px}
`;

// Reads the data block, shows a state's runs on click (or from
// #state=NAME in the URL), text only (no HTML from the data).
const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('execution-data').textContent);
  var panel = document.getElementById('details');
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function json(v) { return typeof v === 'string' ? v : JSON.stringify(v, null, 2); }
  function block(title, value, cls) {
    if (value === undefined) return;
    panel.appendChild(el('h3', '', title));
    panel.appendChild(el('pre', cls || '', json(value)));
  }
  function show(name) {
    var s = data.states[name];
    if (!s) return;
    var prev = document.querySelectorAll('.state.selected');
    for (var i = 0; i < prev.length; i++) prev[i].classList.remove('selected');
    var g = document.querySelector('.state[data-state="' + CSS.escape(name) + '"]');
    if (g) g.classList.add('selected');
    panel.textContent = '';
    panel.setAttribute('data-shown', name);
    panel.appendChild(el('h2', '', name));
    panel.appendChild(el('div', 'outcome st-' + s.outcome, s.type + ': ' + data.labels[s.outcome] + (s.badge ? ' (' + s.badge + ')' : '')));
    if (s.runs.length === 0) { panel.appendChild(el('p', '', 'Not run in this execution.')); return; }
    var runs = s.runs.slice(0, 50);
    runs.forEach(function (r, i) {
      if (s.runs.length > 1) panel.appendChild(el('h3', '', (r.iteration !== undefined ? 'Iteration ' + r.iteration : 'Run ' + (i + 1)) + ': ' + data.labels[r.status]));
      if (r.retries) panel.appendChild(el('div', '', 'Retried ' + r.retries + ' time(s)'));
      r.failures.forEach(function (f) {
        block('Error', f.error, 'error');
        block('Cause', f.cause, 'error');
      });
      block('Input', r.input);
      block('Parameters', r.parameters);
      block('Output', r.output);
    });
    if (s.runs.length > runs.length) panel.appendChild(el('p', '', (s.runs.length - runs.length) + ' more run(s) in history.json'));
  }
  var states = document.querySelectorAll('.state[data-state]');
  for (var i = 0; i < states.length; i++) {
    states[i].addEventListener('click', function (ev) { ev.stopPropagation(); show(this.getAttribute('data-state')); });
    states[i].addEventListener('keydown', function (ev) { if (ev.key === 'Enter') show(this.getAttribute('data-state')); });
  }
  var m = /state=([^&]+)/.exec(location.hash);
  show(m ? decodeURIComponent(m[1]) : data.initial);
  document.body.setAttribute('data-ready', '1');
})();
`;

const sha256 = (text) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

function fmtTime(seconds) {
  return seconds === undefined ? '' : new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

// The page. `describe`: DescribeExecution's answer (status, name, dates,
// error, cause); `events`: GetExecutionHistory's events.
export function renderExecutionView({ definition, events, describe = {} }) {
  const status = describe.status ?? 'RUNNING';
  const outcomes = stateOutcomes(definition, events, status);
  const layout = layoutMachine(definition, true);
  const margin = 24;
  const svgParts = [];
  renderMachine(layout, margin, margin, outcomes, svgParts, status !== 'RUNNING');
  const w = layout.w + 2 * margin + 60;
  const h = layout.h + 2 * margin;

  const states = {};
  for (const [name, o] of Object.entries(outcomes)) {
    states[name] = {
      type: o.type, outcome: o.outcome, badge: badge(o),
      runs: o.runs.map((r) => ({ iteration: r.iteration, status: r.status, retries: r.retries, input: r.input, parameters: r.parameters, output: r.output, failures: r.failures })),
    };
  }
  // The state to open first: where it went wrong, else the last one run.
  const initial = Object.keys(outcomes).find((n) => outcomes[n].outcome === 'failed')
    ?? Object.keys(outcomes).find((n) => outcomes[n].outcome === 'caught')
    ?? Object.keys(outcomes).find((n) => outcomes[n].outcome === 'waiting')
    ?? definition.StartAt;
  const dataJson = JSON.stringify({ states, labels: LABELS, initial })
    .replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

  // Legend swatches are small SVGs: no inline style attributes (the CSP
  // allows only the hashed <style> block).
  const legendHtml = OUTCOMES.map((o) => `<span><svg width="16" height="12" aria-hidden="true"><rect x="1" y="1" width="14" height="10" rx="2" fill="${COLOURS[o][0]}" stroke="${COLOURS[o][1]}"/></svg>${LABELS[o]}</span>`).join('');

  const eventRows = events.map((e) => {
    const d = Object.entries(e).find(([k]) => k.endsWith('EventDetails'))?.[1];
    const name = d?.name ?? '';
    const extra = d?.error ? `${d.error}` : d?.index !== undefined ? `index ${d.index}` : '';
    return `<tr><td>${e.id}</td><td>${e.previousEventId ?? ''}</td><td>${esc(e.type)}</td><td>${esc(name)}</td><td>${esc(extra)}</td><td>${esc(fmtTime(e.timestamp))}</td></tr>`;
  }).join('');

  const seconds = describe.stopDate && describe.startDate ? ` · ${(describe.stopDate - describe.startDate).toFixed(1)} s` : '';
  const csp = `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; img-src 'none'; base-uri 'none'; form-action 'none'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(describe.name ?? 'execution')}: ${esc(status)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(describe.name ?? 'execution')} <span class="status ${esc(status)}">${esc(status)}</span></h1>
<div class="meta">${esc(describe.executionArn ?? '')}<br>started ${esc(fmtTime(describe.startDate))}${describe.stopDate ? ` · stopped ${esc(fmtTime(describe.stopDate))}` : ''}${seconds}${describe.error ? ` · <b>${esc(describe.error)}</b>: ${esc(String(describe.cause ?? '').slice(0, 300))}` : ''}</div>
</header>
<div class="legend">${legendHtml}</div>
<main>
<div id="graph"><svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="state machine graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#545b64"/></marker></defs>
${svgParts.join('\n')}
</svg></div>
<aside id="details" aria-live="polite"><p>Click a state to see its input, output and error.</p></aside>
</main>
<details class="events"><summary>Events (${events.length})</summary><table><tr><th>id</th><th>prev</th><th>type</th><th>state</th><th></th><th>time</th></tr>${eventRows}</table></details>
<script type="application/json" id="execution-data">${dataJson}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

async function main(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];
  if (!opts.definition || !opts.history || !opts.out) {
    console.error('usage: view.mjs --definition ASL.json --history HISTORY.json [--describe DESCRIBE.json] --out VIEW.html');
    return 2;
  }
  const history = JSON.parse(readFileSync(opts.history, 'utf8'));
  const describe = opts.describe ? JSON.parse(readFileSync(opts.describe, 'utf8')) : {};
  // awscli prints timestamps as text; the API sends epoch seconds.
  const seconds = (t) => (typeof t === 'string' ? Date.parse(t) / 1000 : t);
  for (const e of history.events) e.timestamp = seconds(e.timestamp);
  for (const k of ['startDate', 'stopDate']) if (describe[k] !== undefined) describe[k] = seconds(describe[k]);
  writeFileSync(opts.out, renderExecutionView({ definition: JSON.parse(readFileSync(opts.definition, 'utf8')), events: history.events, describe }));
  console.log(opts.out);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main(process.argv.slice(2));
