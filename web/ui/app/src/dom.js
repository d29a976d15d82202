// A tiny element builder: el('td', {class: 'x'}, 'text', child, ...). Text is
// always set as text, never parsed as HTML, so label values cannot inject.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'value') e.value = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function labelsText(metric) {
  const name = metric.__name__ || '';
  const rest = Object.entries(metric)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return rest.length ? `${name}{${rest.join(', ')}}` : name || '{}';
}

export function labelBadges(labels) {
  return el('span', { class: 'labels' },
    Object.entries(labels || {}).map(([k, v]) => el('span', { class: 'badge' }, `${k}="${v}"`)));
}

export function ago(iso) {
  const t = Date.parse(iso);
  if (!t || t < 0) return 'never';
  const s = (Date.now() - t) / 1000;
  if (s < 1) return 'just now';
  if (s < 120) return `${s.toFixed(1)}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

export function table(headers, rows, attrs = {}) {
  return el('table', attrs,
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
}

export function errorBox(err) {
  return el('div', { class: 'error', role: 'alert' }, String(err.message || err));
}

// bytes writes a size in binary units (as du -h), "—" for null.
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

// msTime writes a millisecond timestamp in UTC, "—" for null.
export function msTime(ms) {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// span writes the length of [mint, maxt] in ms as 1d2h3m.
export function span(mint, maxt) {
  if (mint === null || mint === undefined || maxt === null || maxt === undefined) return '';
  let s = Math.max(0, Math.round((maxt - mint) / 1000));
  const parts = [];
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (s >= n) { parts.push(Math.floor(s / n) + u); s %= n; }
  }
  return parts.join('') || '0s';
}
