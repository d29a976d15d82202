// The tenant the pages read: the "tenant" URL parameter (absent = the
// default tenant), sent as the X-Scope-OrgID header with every API call, so
// that a link to any page keeps its tenant. The header selector lists the
// tenants /api/v1/status/tenants reports.
import { el } from './dom.js';

export const tenantParam = 'tenant';
const defaultTenant = 'default';

export function currentTenant() {
  return new URLSearchParams(location.search).get(tenantParam) || '';
}

// The headers of an API call for the current tenant (none for the default,
// which the server assumes without a header).
export function tenantHeaders() {
  const t = currentTenant();
  return t && t !== defaultTenant ? { 'X-Scope-OrgID': t } : {};
}

// withTenant adds the current tenant to a relative link.
export function withTenant(href) {
  const t = currentTenant();
  if (!t) return href;
  const [path, query = ''] = href.split('?');
  const q = new URLSearchParams(query);
  q.set(tenantParam, t);
  return `${path}?${q}`;
}

// tenantSelector is the header's <select>: picking a tenant reloads the
// page with the tenant in its URL (a query page keeps its panels, which
// are in the URL too).
export function tenantSelector(tenants) {
  const cur = currentTenant() || defaultTenant;
  const ids = [...new Set([defaultTenant, ...tenants, cur])].sort();
  return el('label', { class: 'tenant-picker' }, 'Tenant ',
    el('select', {
      class: 'tenant-select', title: 'Tenant (X-Scope-OrgID) of every query',
      onchange: (e) => {
        const u = new URL(location.href);
        if (e.target.value === defaultTenant) u.searchParams.delete(tenantParam);
        else u.searchParams.set(tenantParam, e.target.value);
        location.assign(u.href);
      },
    }, ids.map((id) => {
      const o = el('option', { value: id }, id);
      o.selected = id === cur;
      return o;
    })));
}
