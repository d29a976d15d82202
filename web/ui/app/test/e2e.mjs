// Browser test of the UI, started by web/ui's TestBrowserUI before the
// mytsdb it tests (BASE_URL, ending in "/"): it launches the browser, says
// "browser ready", waits for mytsdb and checks the status page while mytsdb
// converts the Prometheus data directory it was started on. Then it waits
// for SETUP_FILE (holding MOMENT: "YYYY-MM-DD HH:MM:SS" UTC, inside the
// scraped data), written once mytsdb scrapes the fixture target and holds
// the remote-written PROBE (in the default tenant and in TENANT, with
// different values), HISTOGRAM (a native histogram) and local blocks in
// TENANT. It drives
// Debian's chromium (CHROMIUM) through playwright-core, compares what the
// pages show with what the API answers, and saves a screenshot of each page
// under SCREENSHOTS. Every failure is printed; the exit code is the count.
import { chromium } from 'playwright-core';
import { existsSync, readFileSync } from 'node:fs';

const base = process.env.BASE_URL;
const origin = new URL(base).origin;
const shots = process.env.SCREENSHOTS;
let moment; // read from SETUP_FILE
const tenant = process.env.TENANT;
const probe = process.env.PROBE;
const histMetric = process.env.HISTOGRAM;
const failures = [];
const fail = (msg) => { failures.push(msg); console.log('FAIL: ' + msg); };

async function apiData(path, orgID) {
  const r = await fetch(base + 'api/v1/' + path, { headers: orgID ? { 'X-Scope-OrgID': orgID } : {} });
  const b = await r.json();
  if (b.status !== 'success') throw new Error(`api ${path}: ${JSON.stringify(b)}`);
  return b.data;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(10000);
const problems = [];
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
page.on('request', (r) => { if (!r.url().startsWith(origin)) problems.push(`request to another host: ${r.url()}`); });
page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
console.log('browser ready');

async function waitUntil(what, ms, ok) {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
await waitUntil('mytsdb ready', 60000, async () => (await fetch(base + '-/ready')).ok);

async function step(name, fn) {
  problems.length = 0;
  const t0 = Date.now();
  try {
    await fn();
    await page.waitForLoadState('networkidle');
  } catch (e) {
    fail(`${name}: ${e.message.split('\n')[0]}`);
  }
  for (const p of problems) fail(`${name}: ${p}`);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true }).catch(() => {});
  console.log(`${name}: ${Date.now() - t0}ms`);
}

// A running task on the status page: the conversion of the Prometheus data
// mytsdb was started on. The page polls /api/v1/status/progress every two
// seconds and the conversion moves on meanwhile, so the row is compared with
// the very answer the page drew it from (its own request, seen by the
// test), and that answer with the test's own read of the API.
await step('status-task', async () => {
  let latest = null; // the page's last progress answer, and when it came
  page.on('response', async (r) => {
    if (!new URL(r.url()).pathname.endsWith('/api/v1/status/progress')) return;
    const b = await r.json().catch(() => null);
    if (b) latest = { at: Date.now(), data: b.data };
  });
  await page.goto(base + 'status');
  await page.locator('.progress-view table.tasks .task-kind[data-kind="conversion"]').waitFor();
  const readRows = () => page.locator('.progress-view table.tasks tbody tr').evaluateAll((trs) => trs.map((tr) => {
    const td = [...tr.querySelectorAll('td')];
    const p = td[4].querySelector('progress');
    return {
      kind: td[0].querySelector('.task-kind')?.dataset.kind, work: td[0].textContent, tenant: td[1].textContent, detail: td[2].textContent,
      running: td[3].textContent, text: td[4].textContent.trim(), value: p && Number(p.value), max: p && Number(p.max),
    };
  }));
  // Tries every 300 ms (the answer's body may arrive after the page drew
  // it) until a row matches; one showing parts done is waited for up to
  // four more of the page's polls while the conversion runs.
  let last = '';
  let matched = null; // the last matching row's description
  let matchedDone = false; // a matching row with parts done
  let answeredDone = false; // the page was answered parts done
  for (let i = 0; i < 30 && !matchedDone; i++) {
    if (i) await page.waitForTimeout(300);
    const rows = await readRows();
    const ans = latest;
    const got = rows.find((r) => r.kind === 'conversion');
    const want = ans?.data.tasks.find((x) => x.kind === 'conversion');
    if (!got || !want) { last = `page ${JSON.stringify(rows)}, answer ${JSON.stringify(ans)}`; continue; }
    if (want.done > 0) answeredDone = true;
    const pct = Math.round(100 * want.done / want.total);
    const runningFor = (ans.at - Date.parse(want.started)) / 1000;
    const secs = /^(\d+\.\d)s$/.exec(got.running);
    last = `row ${JSON.stringify(got)}, the page's answer ${JSON.stringify(want)} (${runningFor}s after its start)`;
    if (got.work !== 'Prometheus data conversion' || got.tenant !== want.tenant || got.detail !== want.detail ||
      got.value !== want.done || got.max !== want.total || got.text !== `${want.done}/${want.total} (${pct}%)` ||
      !secs || Math.abs(Number(secs[1]) - runningFor) > 0.6) continue;
    // The page's answer is the API's: the test's own read names the same
    // task, no fewer parts done.
    const own = (await apiData('status/progress')).tasks.find((x) => x.kind === 'conversion');
    if (own && (own.tenant !== want.tenant || own.detail !== want.detail || own.started !== want.started || own.total !== want.total || own.done < want.done)) {
      throw new Error(`the API now answers ${JSON.stringify(own)}; ${last}`);
    }
    if (!(want.total > 0) || want.tenant !== 'default') throw new Error(`a conversion of the default tenant with parts expected: ${last}`);
    matched = last;
    matchedDone = want.done > 0;
    if (!own) break; // ended: no later answer to wait for
  }
  if (!matched) throw new Error(last);
  // Parts done, when the page was answered some, must have been shown too.
  if (answeredDone && !matchedDone) throw new Error(`no row with the parts done as answered: ${last}`);
  console.log(`status-task: ${matched}`);
});

// The rest needs the data the Go test writes after mytsdb started.
await waitUntil('the test data (SETUP_FILE)', 90000, async () => existsSync(process.env.SETUP_FILE));
moment = readFileSync(process.env.SETUP_FILE, 'utf8').trim();

// The query page: completion from our label API, then the table at a fixed
// evaluation time against the API's answer, then the graph.
const expr = 'fixture_requests_total';
await step('query-table', async () => {
  await page.goto(base + 'query?' + new URLSearchParams({ 'g0.moment_input': moment, 'g0.tab': 'table' }));
  await page.click('.cm-content');
  await page.keyboard.type('fixture_req');
  const option = page.locator('.cm-tooltip-autocomplete li', { hasText: expr }).first();
  await option.waitFor();
  // Clicking applies the completion; Enter could race the remote source's
  // answer on a loaded machine and run the half-typed query instead.
  await option.click();
  await page.waitForFunction((want) => document.querySelector('.cm-content').innerText.trim() === want, expr, { timeout: 5000 }).catch(() => {});
  const typed = await page.locator('.cm-content').innerText();
  if (typed.trim() !== expr) throw new Error(`editor holds ${JSON.stringify(typed)} after completion, want ${expr}`);
  await page.click('.cm-content');
  await page.keyboard.press('End');
  await page.keyboard.press('Enter'); // runs the query
  await page.locator('.data-table tr').first().waitFor();
  const rows = await page.locator('.data-table tr').evaluateAll((trs) => trs.map((tr) =>
    [tr.querySelector('.series').textContent, tr.querySelector('.value').textContent]));
  const t = Date.parse(moment.replace(' ', 'T') + 'Z') / 1000;
  const want = (await apiData(`query?query=${expr}&time=${t}`)).result;
  if (want.length === 0) throw new Error('the API has no samples at the moment; the fixture was not scraped');
  const wantValues = want.map((s) => s.value[1]).sort();
  const gotValues = rows.map((r) => r[1]).sort();
  if (JSON.stringify(gotValues) !== JSON.stringify(wantValues)) throw new Error(`table values ${gotValues}, API ${wantValues}`);
  for (const s of want) {
    if (!rows.some((r) => r[0].includes(`job="${s.metric.job}"`) && r[0].startsWith(expr))) throw new Error(`no row for ${JSON.stringify(s.metric)}`);
  }
  const url = new URL(page.url());
  if (url.searchParams.get('g0.expr') !== expr) throw new Error(`URL has g0.expr=${url.searchParams.get('g0.expr')}`);
});

await step('query-graph', async () => {
  await page.click('.tab[data-tab="graph"]');
  await page.fill('.range', '1m');
  await page.press('.range', 'Enter');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('g0.range_input') === '1m');
  const fig = page.locator('figure.graph');
  await fig.waitFor();
  await page.waitForFunction(() => document.querySelector('figure.graph')?.getAttribute('aria-label')?.includes('Value axis'));
  const label = await fig.getAttribute('aria-label');
  const m = /Time axis: (.*)\. Value axis: (.*)\./.exec(label);
  if (!m || !m[1] || !m[2]) throw new Error(`axes not labelled: ${label}`);
  if (!/\d\d:\d\d/.test(m[1])) throw new Error(`time ticks look wrong: ${m[1]}`);
  if (!/\d/.test(m[2])) throw new Error(`value ticks look wrong: ${m[2]}`);
  // Pixels drawn in a series' colour, not just axes and grid.
  const coloured = await page.evaluate(() => {
    const c = document.querySelector('figure.graph canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.abs(d[i] - d[i + 2]) > 60) n++;
    return n;
  });
  if (coloured < 50) throw new Error(`graph canvas has ${coloured} coloured pixels: no line drawn`);
  if (new URL(page.url()).searchParams.get('g0.tab') !== 'graph') throw new Error('URL does not record the graph tab');
});

await step('targets', async () => {
  await page.goto(base + 'targets');
  const pool = page.locator('section.pool[data-pool="fixture"]');
  await pool.waitFor();
  const text = await pool.innerText();
  if (!text.includes('UP')) throw new Error(`fixture pool not UP:\n${text}`);
  const api = await apiData('targets?state=active');
  const t = api.activeTargets.find((x) => x.scrapePool === 'fixture');
  if (!text.includes(t.scrapeUrl)) throw new Error(`target ${t.scrapeUrl} not listed`);
});

await step('alerts', async () => {
  await page.goto(base + 'alerts');
  await page.locator('.summary').waitFor();
  const api = await apiData('rules?type=alert');
  const want = api.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
  const got = (await page.locator('section.alert-rule').evaluateAll((s) => s.map((x) => x.dataset.alert))).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`alerts page shows ${got}, API has ${want}`);
});

// Every other page loads, renders its heading and no error box.
for (const name of ['rules', 'service-discovery', 'config', 'flags', 'tsdb-status', 'alertmanager-discovery']) {
  await step(name, async () => {
    await page.goto(base + name);
    await page.locator('main h1').waitFor();
    await page.waitForLoadState('networkidle');
    const err = await page.locator('main .error').count();
    if (err) throw new Error(`error shown: ${await page.locator('main .error').first().innerText()}`);
  });
}

await step('graph-redirect', async () => {
  await page.goto(base + 'graph?g0.expr=up&g0.tab=1');
  const u = new URL(page.url());
  if (!u.pathname.endsWith('/query') || u.searchParams.get('g0.expr') !== 'up') throw new Error(`/graph landed on ${page.url()}`);
  await page.locator('.data-table, .empty').first().waitFor();
});


// The tenants page lists what /api/v1/status/tenants says: every tenant,
// its head series, the bucket column, and a measured append rate.
await step('tenants', async () => {
  await page.goto(base + 'tenants');
  await page.locator('table.tenants tbody tr').first().waitFor();
  const rows = await page.locator('table.tenants tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    tenant: tr.dataset.tenant,
    series: tr.querySelector('.num-series').textContent,
    rate: tr.querySelector('.rate').textContent,
    bucket: tr.querySelector('.bucket').textContent,
    disk: tr.querySelector('.disk').textContent,
  })));
  const want = await apiData('status/tenants');
  const names = (xs) => JSON.stringify(xs.map((x) => x.tenant));
  if (names(rows) !== names(want)) throw new Error(`tenants page lists ${names(rows)}, API ${names(want)}`);
  if (!want.some((x) => x.tenant === tenant)) throw new Error(`API lists no tenant ${tenant}`);
  for (const w of want) {
    const r = rows.find((x) => x.tenant === w.tenant);
    if (r.series !== String(w.numSeries)) throw new Error(`tenant ${w.tenant}: page shows ${r.series} series, API ${w.numSeries}`);
    if ((w.bucketBytes === null) !== (r.bucket === 'no bucket tier')) throw new Error(`tenant ${w.tenant}: bucket ${r.bucket}, API ${w.bucketBytes}`);
    if (!/\d/.test(r.disk) || w.diskBytes <= 0) throw new Error(`tenant ${w.tenant}: disk ${r.disk}, API ${w.diskBytes}`);
  }
  // The default tenant is scraped every second: its rate is measured and positive.
  const def = rows.find((x) => x.tenant === 'default');
  if (!(parseFloat(def.rate) > 0)) throw new Error(`default tenant's rate: ${def.rate}`);
});

// The tiers page of TENANT: the head's series and every block of
// /api/v1/status/tsdb/blocks, in the table of its tier, with its samples.
await step('tiers', async () => {
  await page.goto(base + 'tiers?tenant=' + tenant);
  await page.locator('table.tiers-summary').waitFor();
  const blocks = (await apiData('status/tsdb/blocks', tenant)).blocks;
  const head = (await apiData('status/tsdb', tenant)).headStats;
  if (!blocks.length) throw new Error(`the API lists no blocks for ${tenant}`);
  const headSeries = await page.locator('.head-series').innerText();
  if (headSeries !== String(head.numSeries)) throw new Error(`head series ${headSeries}, API ${head.numSeries}`);
  const headChunks = await page.locator('.head-chunks').innerText();
  if (headChunks !== String(head.chunkCount)) throw new Error(`head chunks ${headChunks}, API ${head.chunkCount}`);
  for (const tier of ['local', 'parquet']) {
    const want = blocks.filter((b) => (b.tier || 'local') === tier);
    const got = await page.locator(`table.${tier}-blocks tbody tr`).evaluateAll((trs) => trs.map((tr) => ({
      ulid: tr.dataset.ulid, samples: tr.querySelector('.samples').textContent,
      level: tr.querySelector('.level').textContent, size: tr.querySelector('.size').textContent,
    })));
    const ids = (xs) => JSON.stringify(xs.map((x) => x.ulid).sort());
    if (ids(got) !== ids(want)) throw new Error(`${tier} blocks shown ${ids(got)}, API ${ids(want)}`);
    for (const b of want) {
      const g = got.find((x) => x.ulid === b.ulid);
      if (g.samples !== String(b.stats.numSamples) || g.level !== String(b.compaction.level)) throw new Error(`block ${b.ulid}: shown ${JSON.stringify(g)}, API ${JSON.stringify(b)}`);
      if (tier === 'local' && !/\d/.test(g.size)) throw new Error(`block ${b.ulid} has no size: ${g.size}`);
    }
    const count = await page.locator(`.${tier}-count`).innerText();
    if (count !== String(want.length)) throw new Error(`${tier} summary counts ${count} blocks, API ${want.length}`);
  }
});

// The status page shows the WAL replay and the running storage work as
// /api/v1/status/progress reports them (read around the page's own read:
// a cut may start or end in between, so a few tries).
await step('status', async () => {
  await page.goto(base + 'status');
  await page.locator('main h1').waitFor();
  await page.locator('.progress-view').waitFor();
  let last = '';
  for (let i = 0; i < 5; i++) {
    const before = await apiData('status/progress');
    const shown = await page.locator('.progress-view').evaluate((v) => ({
      wal: v.querySelector('.walreplay')?.textContent,
      kinds: [...v.querySelectorAll('.task-kind')].map((k) => k.dataset.kind),
      none: !!v.querySelector('.no-tasks'),
    }));
    const after = await apiData('status/progress');
    const w = before.walReplay;
    const wantWal = w.max > 0 ? `segment ${w.current} of ${w.min}–${w.max}` : 'no segments to replay';
    const kinds = (p) => JSON.stringify(p.tasks.map((t) => t.kind));
    const same = JSON.stringify(shown.kinds) === kinds(before) || JSON.stringify(shown.kinds) === kinds(after);
    if (shown.wal?.startsWith(wantWal) && same && shown.none === (shown.kinds.length === 0)) { last = ''; break; }
    last = `status shows ${JSON.stringify(shown)}, API ${JSON.stringify(before)}`;
    await page.waitForTimeout(2100); // the page's next poll
  }
  if (last) throw new Error(last);
  const err = await page.locator('main .error').count();
  if (err) throw new Error(`error shown: ${await page.locator('main .error').first().innerText()}`);
});

// A native histogram: the table draws one bar per bucket with the API's
// counts, the graph a heatmap with a row per bucket the range holds.
await step('histogram-table', async () => {
  await page.goto(base + 'query?' + new URLSearchParams({ 'g0.expr': histMetric, 'g0.tab': 'table' }));
  await page.locator('.histogram .hist-bar').first().waitFor();
  const bars = await page.locator('.histogram .hist-bar').evaluateAll((bs) => bs.map((b) => [b.dataset.range, b.dataset.count]));
  const res = (await apiData(`query?query=${histMetric}`)).result;
  if (res.length !== 1 || !res[0].histogram) throw new Error(`API answered ${JSON.stringify(res)}`);
  const want = res[0].histogram[1].buckets.map((b) => b[3]);
  const got = bars.map((b) => b[1]);
  // The page and the API may read one scrape interval apart: compare the
  // shape (one bar per bucket) and the counts of the same evaluation.
  if (got.length !== want.length || got.length !== 4) throw new Error(`bars ${JSON.stringify(bars)}, API buckets ${JSON.stringify(res[0].histogram[1].buckets)}`);
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`bar counts ${got}, API ${want}`);
  const heights = await page.locator('.histogram .hist-bar').evaluateAll((bs) => bs.map((b) => b.getBoundingClientRect().height));
  if (!heights.every((h) => h > 0)) throw new Error(`bars not drawn: heights ${heights}`);
});

await step('histogram-graph', async () => {
  await page.goto(base + 'query?' + new URLSearchParams({ 'g0.expr': histMetric, 'g0.tab': 'graph', 'g0.range_input': '5m' }));
  const fig = page.locator('figure.heatmap');
  await fig.waitFor();
  const label = await fig.getAttribute('aria-label');
  const buckets = JSON.parse(await fig.getAttribute('data-buckets'));
  if (buckets.length !== 4) throw new Error(`heatmap rows ${JSON.stringify(buckets)}: want the 4 buckets written`);
  if (!/Time axis: .*\d\d:\d\d/.test(label)) throw new Error(`heatmap time axis not labelled: ${label}`);
  const coloured = await page.evaluate(() => {
    const c = document.querySelector('figure.heatmap canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.abs(d[i] - d[i + 2]) > 60) n++;
    return n;
  });
  if (coloured < 200) throw new Error(`heatmap canvas has ${coloured} coloured pixels`);
});

// Explain: the tree lists the nodes /api/v1/parse_query returns, in order.
await step('explain', async () => {
  const q = 'sum by (code) (rate(fixture_requests_total[1m]))';
  await page.goto(base + 'query?' + new URLSearchParams({ 'g0.expr': q, 'g0.tab': 'table' }));
  await page.click('button.explain');
  await page.locator('ul.tree li').first().waitFor();
  const got = await page.locator('ul.tree li').evaluateAll((ls) => ls.map((l) => l.dataset.type));
  const walk = (n, out) => {
    if (!n || typeof n !== 'object' || !n.type) return out;
    out.push(n.type);
    for (const k of ['param', 'expr', 'lhs', 'rhs']) walk(n[k], out);
    for (const a of n.args || []) walk(a, out);
    return out;
  };
  const want = walk(await apiData('parse_query?query=' + encodeURIComponent(q)), []);
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`tree ${got}, API ${want}`);
  if (new URL(page.url()).searchParams.get('g0.show_tree') !== '1') throw new Error('URL does not record the tree');
});

// The tenant selector: the same query answers the default tenant's value,
// then, once TENANT is picked, TENANT's, with the tenant in the URL.
await step('tenant-switch', async () => {
  const value = async () => {
    await page.locator('.data-table td.value').first().waitFor();
    return page.locator('.data-table td.value').first().innerText();
  };
  await page.goto(base + 'query?' + new URLSearchParams({ 'g0.expr': probe, 'g0.tab': 'table' }));
  const want = async (org) => (await apiData(`query?query=${probe}`, org)).result.map((s) => s.value[1]);
  const defWant = await want('');
  const defGot = await value();
  if (JSON.stringify([defGot]) !== JSON.stringify(defWant)) throw new Error(`default tenant shows ${defGot}, API ${defWant}`);
  await page.locator('select.tenant-select').waitFor();
  await Promise.all([page.waitForURL((u) => u.searchParams.get('tenant') === tenant), page.selectOption('select.tenant-select', tenant)]);
  const otherGot = await value();
  const otherWant = await want(tenant);
  if (JSON.stringify([otherGot]) !== JSON.stringify(otherWant)) throw new Error(`tenant ${tenant} shows ${otherGot}, API ${otherWant}`);
  if (otherGot === defGot) throw new Error(`both tenants show ${otherGot}: the switch changed nothing`);
  const u = new URL(page.url());
  if (u.searchParams.get('g0.expr') !== probe) throw new Error(`the switch lost the query: ${page.url()}`);
  // Links keep the tenant.
  const href = await page.locator('header nav a[href^="tiers"]').getAttribute('href');
  if (!href.includes('tenant=' + tenant)) throw new Error(`nav link ${href} drops the tenant`);
});

await browser.close();
console.log(`${failures.length} browser check(s) failed`);
process.exit(failures.length);
