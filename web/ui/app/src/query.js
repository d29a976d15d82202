// The query page: several panels, each an editor with a table and a graph
// tab, stored in the URL with the parameters Prometheus's UI uses
// (g0.expr, g0.tab, g0.range_input, g0.end_input, g0.moment_input,
// g0.step_input, g0.display_mode, g0.stacked, g0.show_tree), so shared and
// Grafana links open the same view; the tenant parameter (tenant.js) is kept
// beside them. Native histograms show as bucket bars in the table and as a
// heatmap in the graph (histogram.js); "Explain" shows the parsed query as a
// tree (tree.js).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from './api.js';
import { el, labelsText, errorBox } from './dom.js';
import { newEditor } from './editor.js';
import { parseDuration, formatDuration, parseTime, formatTime } from './time.js';
import { histogramView, heatmap } from './histogram.js';
import { explainTree } from './tree.js';
import { currentTenant, tenantParam } from './tenant.js';

const historyKey = 'mytsdb.queryHistory';

function decodePanels(search) {
  const q = new URLSearchParams(search);
  const panels = [];
  for (let i = 0; q.has(`g${i}.expr`) || q.has(`g${i}.tab`) || q.has(`g${i}.range_input`); i++) {
    const g = (k) => q.get(`g${i}.${k}`);
    const tab = g('tab');
    panels.push({
      expr: g('expr') || '',
      tab: tab === '0' || tab === 'graph' ? 'graph' : 'table',
      range: parseDuration(g('range_input')) || 3600e3,
      end: parseTime(g('end_input')),
      moment: parseTime(g('moment_input')),
      step: Number(g('step_input')) || null,
      stacked: g('display_mode') === 'stacked' || g('stacked') === '1',
      showTree: g('show_tree') === '1',
    });
  }
  if (!panels.length) panels.push(newPanelState());
  return panels;
}

function newPanelState() {
  return { expr: '', tab: 'table', range: 3600e3, end: null, moment: null, step: null, stacked: false, showTree: false };
}

function encodePanels(panels) {
  const q = new URLSearchParams();
  if (currentTenant()) q.set(tenantParam, currentTenant());
  panels.forEach((p, i) => {
    q.set(`g${i}.expr`, p.expr);
    q.set(`g${i}.show_tree`, p.showTree ? '1' : '0');
    q.set(`g${i}.tab`, p.tab);
    q.set(`g${i}.range_input`, formatDuration(p.range));
    if (p.end) q.set(`g${i}.end_input`, formatTime(p.end));
    if (p.moment) q.set(`g${i}.moment_input`, formatTime(p.moment));
    if (p.step) q.set(`g${i}.step_input`, String(p.step));
    q.set(`g${i}.display_mode`, p.stacked ? 'stacked' : 'lines');
  });
  return q.toString();
}

function remember(expr) {
  if (!expr) return;
  let h = [];
  try { h = JSON.parse(localStorage.getItem(historyKey)) || []; } catch { /* a bad entry is dropped */ }
  h = [expr, ...h.filter((x) => x !== expr)].slice(0, 50);
  localStorage.setItem(historyKey, JSON.stringify(h));
}

function recalled() {
  try { return JSON.parse(localStorage.getItem(historyKey)) || []; } catch { return []; }
}

export function queryPage(root) {
  const panels = decodePanels(location.search);
  const list = el('div', { class: 'panels' });
  const sync = () => history.replaceState(null, '', 'query?' + encodePanels(panels));
  const add = (state) => {
    const box = el('section', { class: 'panel' });
    list.append(box);
    mountPanel(box, state, sync, () => {
      const i = panels.indexOf(state);
      if (i >= 0) panels.splice(i, 1);
      box.remove();
      sync();
    });
  };
  panels.forEach(add);
  root.append(list, el('button', {
    class: 'add-panel',
    onclick: () => { const s = newPanelState(); panels.push(s); add(s); sync(); },
  }, 'Add query'));
}

function mountPanel(box, state, sync, remove) {
  const editorBox = el('div', { class: 'editor' });
  const result = el('div', { class: 'result' });
  const treeBox = el('div', { class: 'tree-box' });
  const stats = el('span', { class: 'stats' });
  const hist = el('select', { class: 'history', title: 'Query history', onchange: (e) => {
    if (e.target.value) { editor.set(e.target.value); run(); }
    e.target.value = '';
  } });
  const fillHistory = () => hist.replaceChildren(el('option', { value: '' }, 'History'),
    recalled().map((x) => el('option', { value: x }, x.length > 80 ? x.slice(0, 80) + '…' : x)));
  fillHistory();

  const tabBtn = (name, label) => el('button', {
    class: 'tab' + (state.tab === name ? ' active' : ''), 'data-tab': name,
    onclick: () => { state.tab = name; box.querySelectorAll('.tab').forEach((b) => b.classList.toggle('active', b.dataset.tab === name)); sync(); run(); },
  }, label);

  const rangeIn = el('input', { class: 'range', size: 6, value: formatDuration(state.range), title: 'Range',
    onchange: (e) => { const d = parseDuration(e.target.value); if (d) { state.range = d; sync(); run(); } else e.target.value = formatDuration(state.range); } });
  const endIn = el('input', { class: 'end', size: 19, placeholder: 'End time (now)', value: state.end ? formatTime(state.end) : '',
    onchange: (e) => { state.end = parseTime(e.target.value); sync(); run(); } });
  const stepIn = el('input', { class: 'step', size: 6, placeholder: 'Res. (s)', value: state.step || '',
    onchange: (e) => { state.step = Number(e.target.value) || null; sync(); run(); } });
  const stackedIn = el('input', { type: 'checkbox', class: 'stacked', checked: state.stacked,
    onchange: (e) => { state.stacked = e.target.checked; sync(); run(); } });
  const momentIn = el('input', { class: 'moment', size: 19, placeholder: 'Evaluation time (now)', value: state.moment ? formatTime(state.moment) : '',
    onchange: (e) => { state.moment = parseTime(e.target.value); sync(); run(); } });

  const graphControls = el('div', { class: 'controls graph-controls' },
    el('label', {}, 'Range ', rangeIn), el('label', {}, 'End ', endIn),
    el('label', {}, 'Resolution ', stepIn), el('label', {}, stackedIn, ' Stacked'));
  const tableControls = el('div', { class: 'controls table-controls' }, el('label', {}, 'Evaluation time ', momentIn));

  box.append(
    el('div', { class: 'panel-head' }, editorBox,
      el('button', { class: 'execute', onclick: () => run() }, 'Execute'),
      el('button', { class: 'explain', title: 'Show the parsed query as a tree', onclick: () => { state.showTree = !state.showTree; sync(); drawTree(); } }, 'Explain'),
      hist, el('button', { class: 'remove', title: 'Remove query', onclick: remove }, '×')),
    el('div', { class: 'tabs' }, tabBtn('table', 'Table'), tabBtn('graph', 'Graph'), stats),
    treeBox, graphControls, tableControls, result);
  const drawTree = async () => {
    const expr = editor.get().trim();
    if (!state.showTree || !expr) { treeBox.replaceChildren(); return; }
    const tree = await explainTree(expr);
    if (state.showTree) treeBox.replaceChildren(tree);
  };

  let plot;
  let seq = 0;
  const run = async () => {
    state.expr = editor.get().trim();
    graphControls.hidden = state.tab !== 'graph';
    tableControls.hidden = state.tab !== 'table';
    sync();
    if (plot) { plot.destroy(); plot = null; }
    if (!state.expr) { result.replaceChildren(); return; }
    drawTree();
    remember(state.expr);
    fillHistory();
    const my = ++seq;
    const t0 = performance.now();
    result.replaceChildren(el('div', { class: 'loading' }, 'Loading…'));
    try {
      if (state.tab === 'table') {
        const data = await api('query', { query: state.expr, time: state.moment ? state.moment / 1000 : undefined });
        if (my !== seq) return;
        result.replaceChildren(renderTable(data));
        stats.textContent = `Load time: ${Math.round(performance.now() - t0)}ms · Result series: ${seriesCount(data)}`;
      } else {
        const end = state.end || Date.now();
        const start = end - state.range;
        const step = state.step || Math.max(Math.floor(state.range / 250 / 1000), 1);
        const data = await api('query_range', { query: state.expr, start: start / 1000, end: end / 1000, step });
        if (my !== seq) return;
        result.replaceChildren();
        plot = renderGraph(result, data.result, start / 1000, end / 1000, step, state.stacked);
        stats.textContent = `Load time: ${Math.round(performance.now() - t0)}ms · Resolution: ${step}s · Result series: ${data.result.length}`;
      }
    } catch (err) {
      if (my === seq) result.replaceChildren(errorBox(err));
    }
  };
  const editor = newEditor(editorBox, state.expr, run);
  graphControls.hidden = state.tab !== 'graph';
  tableControls.hidden = state.tab !== 'table';
  if (state.expr) run();
}

function seriesCount(data) {
  return Array.isArray(data.result) ? data.result.length : 1;
}

function histogramText(h) {
  return `count: ${h.count} sum: ${h.sum} buckets: ${(h.buckets || []).map((b) => `[${b[1]},${b[2]}]:${b[3]}`).join(' ')}`;
}

function renderTable(data) {
  const rows = [];
  switch (data.resultType) {
    case 'vector':
      for (const s of data.result) {
        rows.push([labelsText(s.metric), s.value ? s.value[1] : histogramView(s.histogram[1])]);
      }
      break;
    case 'matrix':
      for (const s of data.result) {
        const vals = (s.values || []).map((v) => `${v[1]} @${v[0]}`)
          .concat((s.histograms || []).map((h) => `${histogramText(h[1])} @${h[0]}`));
        rows.push([labelsText(s.metric), el('pre', {}, vals.join('\n'))]);
      }
      break;
    case 'scalar':
    case 'string':
      rows.push(['scalar', data.result[1]]);
      break;
  }
  if (!rows.length) return el('div', { class: 'empty' }, 'Empty query result');
  return el('table', { class: 'data-table' },
    el('tbody', {}, rows.map(([l, v]) => el('tr', {}, el('td', { class: 'series' }, l), el('td', { class: 'value' }, v)))));
}

const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

// renderGraph draws the range result: float series on uPlot, one series
// per result on the query's step grid (null where a series has no sample),
// and each series of native histograms as a heatmap of its buckets below.
function renderGraph(parent, all, start, end, step, stacked) {
  if (!all.length) {
    parent.append(el('div', { class: 'empty' }, 'Empty query result'));
    return null;
  }
  for (const s of all.filter((x) => (x.histograms || []).length)) {
    heatmap(parent, s, labelsText(s.metric), start, end, step, timeTick);
  }
  const result = all.filter((x) => (x.values || []).length);
  if (!result.length) return null;
  const n = Math.floor((end - start) / step) + 1;
  const xs = Array.from({ length: n }, (_, i) => start + i * step);
  const ys = result.map((s) => {
    const row = new Array(n).fill(null);
    for (const [t, v] of s.values || []) row[Math.round((t - start) / step)] = parseFloat(v);
    return row;
  });
  if (stacked) {
    for (let i = 1; i < ys.length; i++) {
      for (let j = 0; j < n; j++) if (ys[i][j] !== null) ys[i][j] += ys[i - 1][j] ?? 0;
    }
  }
  const width = Math.max(parent.clientWidth || 800, 300);
  const fig = el('figure', { class: 'graph' });
  parent.append(fig);
  const ticks = { x: [], y: [] };
  const opts = {
    width,
    height: 320,
    series: [{ value: (u, v) => (v == null ? '' : timeTick(v, end - start)) }, ...result.map((s, i) => ({
      label: labelsText(s.metric),
      stroke: palette[i % palette.length],
      fill: stacked ? palette[i % palette.length] + '55' : undefined,
      width: 1.5,
      spanGaps: false,
      // Isolated samples have no neighbour to draw a line to: dot them.
      points: { show: ys[i].filter((v) => v !== null).length <= 60 },
    }))],
    axes: [
      { label: 'Time', values: (u, splits) => (ticks.x = splits.map((v) => timeTick(v, end - start))) },
      { label: 'Value', size: 70, values: (u, splits) => (ticks.y = splits.map(valueTick)) },
    ],
    legend: { live: true },
    hooks: {
      // The axes are drawn on the canvas; their ticks are also written out for
      // screen readers (and the browser tests).
      draw: [() => fig.setAttribute('aria-label',
        `Graph of ${result.length} series. Time axis: ${ticks.x.join(', ')}. Value axis: ${ticks.y.join(', ')}.`)],
    },
  };
  return new uPlot(opts, [xs, ...ys], fig);
}

function timeTick(sec, rangeSec) {
  const d = new Date(sec * 1000);
  const p = (n) => String(n).padStart(2, '0');
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  if (rangeSec > 2 * 86400) return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${hm}`;
  return rangeSec < 600 ? `${hm}:${p(d.getSeconds())}` : hm;
}

function valueTick(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  return String(+v.toPrecision(6));
}
