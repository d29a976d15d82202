// Durations and times as Prometheus's UI writes them in its URL parameters:
// range_input "1h30m", end_input/moment_input "2006-01-02 15:04:05" in UTC.

const units = { y: 365 * 86400e3, w: 7 * 86400e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3, ms: 1 };

export function parseDuration(s) {
  if (!s) return null;
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  let total = 0;
  let used = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    used += m[0].length;
  }
  return used === s.length && total > 0 ? total : null;
}

export function formatDuration(ms) {
  let out = '';
  for (const [u, n] of Object.entries(units)) {
    if (ms >= n) {
      out += Math.floor(ms / n) + u;
      ms %= n;
    }
  }
  return out || '0s';
}

export function parseTime(s) {
  if (!s) return null;
  const t = Date.parse(s.trim().replace(' ', 'T') + 'Z');
  return Number.isNaN(t) ? null : t;
}

export function formatTime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}
