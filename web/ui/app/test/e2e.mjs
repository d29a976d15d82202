// Browser test of the UI, started by web/ui's TestBrowserUI against a running
// mytsdb (BASE_URL, ending in "/") that scrapes the fixture target. It drives
// Debian's chromium (CHROMIUM) through playwright-core, compares what the
// pages show with what the API answers, and saves a screenshot of each page
// under SCREENSHOTS. Every failure is printed; the exit code is the count.
import { chromium } from 'playwright-core';

const base = process.env.BASE_URL;
const origin = new URL(base).origin;
const shots = process.env.SCREENSHOTS;
const moment = process.env.MOMENT; // "YYYY-MM-DD HH:MM:SS" UTC, inside the scraped data
const failures = [];
const fail = (msg) => { failures.push(msg); console.log('FAIL: ' + msg); };

async function apiData(path) {
  const r = await fetch(base + 'api/v1/' + path);
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

async function step(name, fn) {
  problems.length = 0;
  try {
    await fn();
    await page.waitForLoadState('networkidle');
  } catch (e) {
    fail(`${name}: ${e.message.split('\n')[0]}`);
  }
  for (const p of problems) fail(`${name}: ${p}`);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true }).catch(() => {});
}

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
for (const name of ['rules', 'service-discovery', 'config', 'flags', 'status', 'tsdb-status', 'alertmanager-discovery']) {
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

await browser.close();
console.log(`${failures.length} browser check(s) failed`);
process.exit(failures.length);
