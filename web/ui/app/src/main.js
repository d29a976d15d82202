// Picks the view from the page's path (relative to <base>, so any route
// prefix works), and while the server is still starting shows the WAL replay
// progress instead, reloading once it is ready.
import './style.css';
import { api } from './api.js';
import { el, errorBox } from './dom.js';
import { queryPage } from './query.js';
import * as p from './pages.js';
import { tenantsPage } from './tenants.js';
import { tiersPage } from './tiers.js';
import { walProgress } from './progress.js';
import { tenantSelector, withTenant } from './tenant.js';

const views = {
  query: ['Query', queryPage],
  alerts: ['Alerts', p.alertsPage],
  rules: ['Rules', p.rulesPage],
  targets: ['Targets', p.targetsPage],
  'service-discovery': ['Service discovery', p.serviceDiscoveryPage],
  config: ['Configuration', p.configPage],
  flags: ['Command-line flags', p.flagsPage],
  status: ['Runtime & build information', p.statusPage],
  'tsdb-status': ['TSDB status', p.tsdbStatusPage],
  'alertmanager-discovery': ['Alertmanager discovery', p.alertmanagersPage],
  tenants: ['Tenants', tenantsPage],
  tiers: ['Storage tiers', tiersPage],
};

function currentView() {
  const base = new URL(document.baseURI).pathname;
  return location.pathname.startsWith(base) ? location.pathname.slice(base.length) : '';
}

async function waitReady(root) {
  const box = el('div', { class: 'starting' }, el('h2', {}, 'Starting up…'));
  root.replaceChildren(box);
  for (;;) {
    try {
      const w = await api('status/walreplay');
      box.replaceChildren(el('h2', {}, 'Starting up: replaying the WAL'), walProgress(w));
      const r = await fetch('-/ready', { cache: 'no-store' });
      if (r.ok) { location.reload(); return; }
    } catch { /* not up yet: try again */ }
    await new Promise((res) => setTimeout(res, 1000));
  }
}

async function start() {
  const root = document.getElementById('app');
  const name = currentView();
  document.querySelectorAll('header nav a, header a.brand').forEach((a) => {
    const href = a.getAttribute('href');
    a.classList.toggle('active', a.parentElement.tagName === 'NAV' && href === name);
    a.setAttribute('href', withTenant(href));
  });
  if (document.querySelector('meta[name="mytsdb-ready"]')?.content === 'false') {
    await waitReady(root);
    return;
  }
  api('status/tenants').then((ts) => document.getElementById('tenant-picker')
    .replaceChildren(tenantSelector(ts.map((t) => t.tenant))))
    .catch((err) => document.getElementById('tenant-picker').replaceChildren(errorBox(err)));
  const view = views[name];
  if (!view) {
    root.append(errorBox(`No page ${name}`));
    return;
  }
  const [title, render] = view;
  const content = el('div', { class: 'page page-' + name });
  root.replaceChildren(name === 'query' ? '' : el('h1', {}, title), content);
  try {
    await render(content);
  } catch (err) {
    content.append(errorBox(err));
  }
}

start();
