// The status pages. Each reads the same /api/v1 endpoint a user could call
// and renders Prometheus's JSON shape as it is.
import { api } from './api.js';
import { el, labelBadges, ago, table, errorBox } from './dom.js';
import { statusProgress } from './progress.js';

function health(h) {
  return el('span', { class: 'health ' + String(h).toLowerCase() }, String(h).toUpperCase());
}

function groupBy(items, key) {
  const m = new Map();
  for (const it of items) {
    const k = key(it);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(it);
  }
  return m;
}

export async function targetsPage(root) {
  const data = await api('targets', { state: 'active' });
  const pools = groupBy(data.activeTargets || [], (t) => t.scrapePool);
  if (!pools.size) root.append(el('p', { class: 'empty' }, 'No targets.'));
  for (const [pool, ts] of pools) {
    const up = ts.filter((t) => t.health === 'up').length;
    root.append(el('section', { class: 'pool', 'data-pool': pool },
      el('h2', {}, pool, el('span', { class: 'count' }, ` (${up}/${ts.length} up)`)),
      table(['Endpoint', 'State', 'Labels', 'Last scrape', 'Scrape duration', 'Error'], ts.map((t) => [
        el('a', { href: t.scrapeUrl }, t.scrapeUrl), health(t.health), labelBadges(t.labels),
        ago(t.lastScrape), `${(t.lastScrapeDuration * 1000).toFixed(1)}ms`, el('span', { class: 'err' }, t.lastError || ''),
      ]), { class: 'targets' })));
  }
}

export async function serviceDiscoveryPage(root) {
  const data = await api('targets', { state: 'any' });
  const all = [...(data.activeTargets || []).map((t) => ({ ...t, kept: true })),
    ...(data.droppedTargets || []).map((t) => ({ ...t, kept: false, scrapePool: t.scrapePool || t.discoveredLabels?.job || '' }))];
  const pools = groupBy(all, (t) => t.scrapePool);
  for (const [pool, ts] of pools) {
    const kept = ts.filter((t) => t.kept).length;
    root.append(el('section', { class: 'pool' },
      el('h2', {}, pool, el('span', { class: 'count' }, ` (${kept} active / ${ts.length - kept} dropped)`)),
      table(['Discovered labels', 'Target labels'], ts.map((t) => [
        labelBadges(t.discoveredLabels), t.kept ? labelBadges(t.labels) : el('span', { class: 'dropped' }, 'Dropped'),
      ]))));
  }
  if (!pools.size) root.append(el('p', { class: 'empty' }, 'No targets discovered.'));
}

export async function configPage(root) {
  const data = await api('status/config');
  root.append(el('h2', {}, 'Configuration'), el('pre', { class: 'config' }, data.yaml));
}

export async function flagsPage(root) {
  const data = await api('status/flags');
  const filter = el('input', { placeholder: 'Filter by flag name or value', class: 'filter' });
  const body = el('div');
  const draw = () => {
    const f = filter.value.toLowerCase();
    body.replaceChildren(table(['Flag', 'Value'], Object.keys(data).sort()
      .filter((k) => !f || k.includes(f) || String(data[k]).toLowerCase().includes(f))
      .map((k) => [`--${k}`, data[k]])));
  };
  filter.addEventListener('input', draw);
  draw();
  root.append(el('h2', {}, 'Command-line flags'), filter, body);
}

function kvTable(obj) {
  return table(['', ''], Object.entries(obj).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]), { class: 'kv' });
}

export async function statusPage(root) {
  const [build, runtime] = await Promise.all([api('status/buildinfo'), api('status/runtimeinfo')]);
  root.append(el('h2', {}, 'Build information'), kvTable(build),
    el('h2', {}, 'Runtime information'), kvTable(runtime));
  const box = el('section', { class: 'progress-box' });
  root.append(el('h2', {}, 'Long-running work'), box);
  await statusProgress(box);
}

export async function tsdbStatusPage(root) {
  const d = await api('status/tsdb');
  const h = d.headStats || {};
  const t = (ms) => (ms && ms > 0 && ms < 9e15 ? new Date(ms).toISOString() : 'no data');
  root.append(el('h2', {}, 'Head block'),
    table(['Number of series', 'Number of chunks', 'Min time', 'Max time'],
      [[h.numSeries, h.chunkCount, t(h.minTime), t(h.maxTime)]], { class: 'head-stats' }));
  const part = (title, rows) => root.append(el('h2', {}, title),
    table(['Name', 'Count'], (rows || []).map((r) => [r.name, r.value])));
  part('Top 10 series count by metric names', d.seriesCountByMetricName);
  part('Top 10 label names with value count', d.labelValueCountByLabelName);
  part('Top 10 label names with high memory usage', d.memoryInBytesByLabelName);
  part('Top 10 series count by label value pairs', d.seriesCountByLabelValuePair);
}

function ruleRow(r) {
  return [
    el('pre', { class: 'rule' }, r.type === 'alerting'
      ? `alert: ${r.name}\nexpr: ${r.query}${r.duration ? `\nfor: ${r.duration}s` : ''}`
      : `record: ${r.name}\nexpr: ${r.query}`),
    health(r.health || 'unknown'), ago(r.lastEvaluation),
    r.evaluationTime !== undefined ? `${(r.evaluationTime * 1000).toFixed(1)}ms` : '', el('span', { class: 'err' }, r.lastError || ''),
  ];
}

export async function rulesPage(root) {
  const data = await api('rules');
  if (!(data.groups || []).length) root.append(el('p', { class: 'empty' }, 'No rule groups configured.'));
  for (const g of data.groups || []) {
    root.append(el('section', { class: 'group' },
      el('h2', {}, g.name, el('span', { class: 'count' }, ` ${g.file} · every ${g.interval}s · last evaluation ${ago(g.lastEvaluation)}`)),
      table(['Rule', 'State', 'Last evaluation', 'Evaluation time', 'Error'], g.rules.map(ruleRow))));
  }
}

export async function alertsPage(root) {
  const data = await api('rules', { type: 'alert' });
  const rules = (data.groups || []).flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
  const counts = { firing: 0, pending: 0, inactive: 0 };
  rules.forEach((r) => { counts[r.state] = (counts[r.state] || 0) + 1; });
  root.append(el('p', { class: 'summary' }, `Firing: ${counts.firing} · Pending: ${counts.pending} · Inactive: ${counts.inactive}`));
  if (!rules.length) root.append(el('p', { class: 'empty' }, 'No alerting rules configured.'));
  for (const r of rules) {
    root.append(el('section', { class: 'alert-rule state-' + r.state, 'data-alert': r.name },
      el('h2', {}, r.name, ' ', el('span', { class: 'state ' + r.state }, r.state.toUpperCase()),
        el('span', { class: 'count' }, ` ${r.group} · ${(r.alerts || []).length} active`)),
      el('pre', { class: 'rule' }, r.query),
      (r.alerts || []).length ? table(['Labels', 'State', 'Active since', 'Value'], r.alerts.map((a) => [
        labelBadges(a.labels), a.state, a.activeAt || '', a.value,
      ])) : null));
  }
}

export async function alertmanagersPage(root) {
  const data = await api('alertmanagers');
  const row = (a) => [a.url];
  root.append(el('h2', {}, 'Active Alertmanagers'), table(['Endpoint'], (data.activeAlertmanagers || []).map(row)),
    el('h2', {}, 'Dropped Alertmanagers'), table(['Endpoint'], (data.droppedAlertmanagers || []).map(row)));
}

export { errorBox };
