// The tenants page (Prometheus has none): one row per tenant from mytsdb's
// /api/v1/status/tenants — head series, append rate, disk, WAL, local
// blocks, bucket and the time range held — refreshed every five seconds.
// A tenant's name links to the query page for that tenant.
import { api } from './api.js';
import { el, table, bytes, msTime, span, errorBox } from './dom.js';
import { tenantParam } from './tenant.js';

function rate(r) {
  if (r === null || r === undefined) return 'measuring…';
  return r >= 100 ? `${Math.round(r)}/s` : `${+r.toPrecision(3)}/s`;
}

function row(t) {
  const q = new URLSearchParams();
  if (t.tenant !== 'default') q.set(tenantParam, t.tenant);
  return [
    el('a', { class: 'tenant-name', href: 'query' + (q.size ? '?' + q : '') }, t.tenant),
    el('span', { class: 'num-series' }, String(t.numSeries)),
    el('span', { class: 'rate' }, rate(t.samplesPerSecond)),
    el('span', { class: 'disk' }, bytes(t.diskBytes)),
    bytes(t.walBytes),
    el('span', { class: 'blocks' }, `${t.blocks} (${bytes(t.blocksBytes)})`),
    el('span', { class: 'bucket' }, t.bucketBytes === null ? 'no bucket tier' : bytes(t.bucketBytes)),
    el('span', { class: 'range' }, t.minTime === null ? 'no data'
      : `${msTime(t.minTime)} – ${msTime(t.maxTime)} (${span(t.minTime, t.maxTime)})`),
  ];
}

export async function tenantsPage(root) {
  const box = el('div');
  root.append(el('p', { class: 'hint' }, 'Every tenant with data on this server. Queries name a tenant with the X-Scope-OrgID header; the selector at the top right sets it for these pages.'), box);
  const draw = async () => {
    try {
      const ts = await api('status/tenants');
      const t = table(['Tenant', 'Head series', 'Samples/s', 'Disk', 'WAL', 'Local blocks', 'Bucket', 'Time range'], ts.map(row), { class: 'tenants' });
      t.querySelectorAll('tbody tr').forEach((tr, i) => { tr.dataset.tenant = ts[i].tenant; });
      box.replaceChildren(t);
    } catch (err) {
      box.replaceChildren(errorBox(err));
    }
  };
  await draw();
  setInterval(draw, 5000);
}
