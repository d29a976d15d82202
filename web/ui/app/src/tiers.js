// The storage tiers page (Prometheus has none), for the tenant of the URL:
// the head (/api/v1/status/tsdb's headStats), the local blocks
// (/api/v1/status/tsdb/blocks, sizes from mytsdb's /api/v1/status/tenants)
// and the Parquet bucket. Blocks carrying a "tier" field ("local" or
// "parquet", added by the Parquet tier) are split by it; blocks without
// one are local.
import { api } from './api.js';
import { el, table, bytes, msTime, span } from './dom.js';
import { currentTenant } from './tenant.js';

const tierOf = (b) => b.tier || 'local';

function blockRows(blocks, sizes) {
  return blocks.map((b) => [
    el('code', { class: 'ulid' }, b.ulid), msTime(b.minTime), msTime(b.maxTime), span(b.minTime, b.maxTime),
    el('span', { class: 'samples' }, String(b.stats?.numSamples ?? 0)), String(b.stats?.numSeries ?? 0),
    el('span', { class: 'size' }, bytes(sizes[b.ulid] ?? null)),
    el('span', { class: 'level' }, String(b.compaction?.level ?? '')),
  ]);
}

function blocksTable(blocks, sizes, cls) {
  if (!blocks.length) return el('p', { class: 'empty' }, 'No blocks.');
  const t = table(['ULID', 'Min time', 'Max time', 'Duration', 'Samples', 'Series', 'Size', 'Level'], blockRows(blocks, sizes), { class: 'blocks ' + cls });
  t.querySelectorAll('tbody tr').forEach((tr, i) => { tr.dataset.ulid = blocks[i].ulid; });
  return t;
}

function sum(blocks, f) {
  return blocks.reduce((a, b) => a + (f(b) || 0), 0);
}

function summary(blocks, sizes) {
  if (!blocks.length) return ['0', '—', '0', 'no data'];
  const mint = Math.min(...blocks.map((b) => b.minTime));
  const maxt = Math.max(...blocks.map((b) => b.maxTime));
  const known = blocks.every((b) => sizes[b.ulid] !== undefined);
  return [String(blocks.length), known ? bytes(sum(blocks, (b) => sizes[b.ulid])) : '—',
    String(sum(blocks, (b) => b.stats?.numSamples)), `${msTime(mint)} – ${msTime(maxt)} (${span(mint, maxt)})`];
}

export async function tiersPage(root) {
  const tenant = currentTenant() || 'default';
  const [tsdb, blocksData, tenants] = await Promise.all([api('status/tsdb'), api('status/tsdb/blocks'), api('status/tenants')]);
  const me = tenants.find((t) => t.tenant === tenant) || { blockBytes: {}, bucketBytes: null };
  const sizes = me.blockBytes || {};
  const blocks = (blocksData.blocks || []).slice().sort((a, b) => a.minTime - b.minTime);
  const local = blocks.filter((b) => tierOf(b) === 'local');
  const parquet = blocks.filter((b) => tierOf(b) === 'parquet');
  const h = tsdb.headStats || {};
  const headRange = h.numSeries > 0 && h.minTime <= h.maxTime
    ? `${msTime(h.minTime)} – ${msTime(h.maxTime)} (${span(h.minTime, h.maxTime)})` : 'no data';
  const ls = summary(local, sizes);
  const ps = summary(parquet, sizes);
  root.append(
    el('p', { class: 'hint' }, `Tenant ${tenant}. New samples land in the head (memory and WAL); the head is cut into local blocks, which compactions merge${parquet.length || me.bucketBytes !== null ? ' and the Parquet tier uploads to the bucket' : ''}.`),
    table(['Tier', 'Series / blocks', 'Chunks / size', 'Samples', 'Time range'], [
      [el('strong', {}, 'Head'), el('span', { class: 'head-series' }, String(h.numSeries ?? 0)), el('span', { class: 'head-chunks' }, String(h.chunkCount ?? '')), '', headRange],
      [el('strong', {}, 'Local blocks'), el('span', { class: 'local-count' }, ls[0]), ls[1], ls[2], ls[3]],
      [el('strong', {}, 'Parquet bucket'), el('span', { class: 'parquet-count' }, ps[0]),
        me.bucketBytes !== null ? bytes(me.bucketBytes) : ps[1], ps[2], parquet.length || me.bucketBytes !== null ? ps[3] : 'no bucket tier configured'],
    ], { class: 'tiers-summary' }),
    el('h2', {}, 'Local blocks'), blocksTable(local, sizes, 'local-blocks'));
  if (parquet.length) root.append(el('h2', {}, 'Parquet bucket blocks'), blocksTable(parquet, sizes, 'parquet-blocks'));
}
