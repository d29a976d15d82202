// Native histograms on the query page, in Prometheus's JSON shape
// ({count, sum, buckets: [[boundaryRule, lower, upper, count], ...]}): the
// table shows an instant histogram's buckets as bars with their boundaries
// and counts, the graph draws a range of histograms as a heatmap (time
// across, buckets up, colour by the bucket's count).
import { el } from './dom.js';

// bucketRange writes a bucket's boundaries with Prometheus's boundary rule:
// 0 (lower, upper], 1 [lower, upper), 2 (lower, upper), 3 [lower, upper].
export function bucketRange(b) {
  const [rule, lo, hi] = b;
  return `${rule === 1 || rule === 3 ? '[' : '('}${lo}, ${hi}${rule === 0 || rule === 3 ? ']' : ')'}`;
}

export function histogramView(h) {
  const bs = h.buckets || [];
  const max = Math.max(0, ...bs.map((b) => Number(b[3])));
  return el('div', { class: 'histogram' },
    el('div', { class: 'hist-summary' }, `Count: ${h.count} · Sum: ${h.sum} · Buckets: ${bs.length}`),
    el('div', { class: 'hist-bars', role: 'img', 'aria-label': `Histogram with ${bs.length} buckets` },
      bs.map((b) => el('div', {
        class: 'hist-bar', title: `${bucketRange(b)}: ${b[3]}`, 'data-range': bucketRange(b), 'data-count': b[3],
        style: `height: ${max > 0 ? Math.max(1, Math.round(100 * Number(b[3]) / max)) : 0}%`,
      }))),
    el('table', { class: 'hist-buckets' }, el('tbody', {},
      bs.map((b) => el('tr', {}, el('td', {}, bucketRange(b)), el('td', {}, b[3]))))));
}

// Yellow to red: a bucket's count against the largest one drawn.
function colour(f) {
  const lo = [255, 237, 160];
  const hi = [189, 0, 38];
  const c = lo.map((v, i) => Math.round(v + (hi[i] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// heatmap draws one series' histograms on the query's step grid into
// parent; timeTick writes a time axis label. Rows are the distinct buckets
// (sorted by their bounds), columns the steps.
export function heatmap(parent, series, name, start, end, step, timeTick) {
  const n = Math.floor((end - start) / step) + 1;
  const keys = new Map();
  for (const [, h] of series.histograms) {
    for (const b of h.buckets || []) {
      const k = bucketRange(b);
      if (!keys.has(k)) keys.set(k, [Number(b[1]), Number(b[2])]);
    }
  }
  const rows = [...keys.entries()].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]).map(([k]) => k);
  const rowOf = new Map(rows.map((k, i) => [k, i]));
  const cells = rows.map(() => new Array(n).fill(0));
  let max = 0;
  for (const [t, h] of series.histograms) {
    const col = Math.round((t - start) / step);
    if (col < 0 || col >= n) continue;
    for (const b of h.buckets || []) {
      const v = Number(b[3]);
      cells[rowOf.get(bucketRange(b))][col] = v;
      max = Math.max(max, v);
    }
  }
  const fig = el('figure', { class: 'heatmap' }, el('figcaption', {}, name));
  parent.append(fig);
  const left = 150;
  const bottom = 22;
  const width = Math.max(parent.clientWidth || 800, 300);
  const rowH = Math.max(6, Math.min(18, Math.floor(300 / Math.max(rows.length, 1))));
  const height = rows.length * rowH + bottom + 4;
  const dpr = window.devicePixelRatio || 1;
  const c = el('canvas', { width: Math.round(width * dpr), height: Math.round(height * dpr), style: `width:${width}px;height:${height}px` });
  fig.append(c);
  const g = c.getContext('2d');
  g.scale(dpr, dpr);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#333';
  g.textBaseline = 'middle';
  const cw = (width - left) / n;
  // Rows from the bottom up: the lowest bucket at the bottom, as on an axis.
  const yOf = (i) => (rows.length - 1 - i) * rowH;
  const shown = [];
  const labelEvery = Math.ceil(12 / rowH);
  rows.forEach((k, i) => {
    for (let j = 0; j < n; j++) {
      if (cells[i][j] > 0) {
        g.fillStyle = colour(max > 0 ? cells[i][j] / max : 0);
        g.fillRect(left + j * cw, yOf(i), Math.ceil(cw), rowH - 1);
      }
    }
    if (i % labelEvery === 0) {
      g.fillStyle = '#333';
      g.fillText(k, 4, yOf(i) + rowH / 2);
      shown.push(k);
    }
  });
  const ticks = [];
  g.textBaseline = 'top';
  const every = Math.max(1, Math.ceil(n / Math.floor((width - left) / 90)));
  for (let j = 0; j < n; j += every) {
    const s = timeTick(start + j * step, end - start);
    g.fillText(s, left + j * cw, rows.length * rowH + 4);
    ticks.push(s);
  }
  fig.setAttribute('aria-label', `Heatmap of ${name}: ${rows.length} buckets over ${n} steps. Bucket axis: ${shown.join(' ')}. Time axis: ${ticks.join(', ')}.`);
  fig.dataset.buckets = JSON.stringify(rows);
  return fig;
}
