// Calls to our own /api/v1, relative to the page's <base>, so that the route
// prefix and external URL need no handling here, for the tenant the page's
// URL names (tenant.js).
import { tenantHeaders } from './tenant.js';

export class APIError extends Error {
  constructor(errorType, message) {
    super(errorType ? `${errorType}: ${message}` : message);
    this.errorType = errorType;
  }
}

// api returns the "data" of a Prometheus API answer, or throws its
// errorType and error as an APIError.
export async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== '') q.append(k, v);
  }
  const qs = q.toString();
  const resp = await fetch('api/v1/' + path + (qs ? '?' + qs : ''), { cache: 'no-store', headers: tenantHeaders() });
  let body;
  try {
    body = await resp.json();
  } catch (e) {
    throw new APIError('', `HTTP ${resp.status} from api/v1/${path}`);
  }
  if (body.status !== 'success') throw new APIError(body.errorType, body.error);
  return body.data;
}

// The absolute URL of our API root, for the PromQL editor's client.
export function apiBase() {
  return new URL('.', document.baseURI).href.replace(/\/$/, '');
}
