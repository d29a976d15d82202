// Long work while it runs, on the status page: the WAL replay
// (/api/v1/status/walreplay's figures, also shown while the server starts)
// and the storage's running tasks from mytsdb's /api/v1/status/progress:
// head cuts, compactions, the conversion of a replaced Prometheus's data
// and, once the Parquet tier lands, uploads. Polled every two seconds.
import { api } from './api.js';
import { el, table, errorBox } from './dom.js';

export function walProgress(w) {
  const done = w.max > 0 ? w.current - w.min + 1 : 0;
  const total = w.max > 0 ? w.max - w.min + 1 : 0;
  const text = total ? `segment ${w.current} of ${w.min}–${w.max} (${Math.round(100 * done / total)}%)` : 'no segments to replay';
  return el('p', { class: 'walreplay' }, text);
}

const kindNames = {
  'head-cut': 'Head range written as a block',
  compaction: 'Compaction',
  conversion: 'Prometheus data conversion',
  upload: 'Upload to the bucket',
};

function bar(done, total) {
  if (!total) return '';
  const pct = Math.round(100 * done / total);
  return el('span', { class: 'progress', title: `${done} of ${total}` },
    el('progress', { max: total, value: done }), ` ${done}/${total} (${pct}%)`);
}

function elapsed(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 120 ? `${s.toFixed(1)}s` : `${Math.round(s / 60)}m`;
}

export function renderProgress(p) {
  const tasks = p.tasks || [];
  return el('div', { class: 'progress-view' },
    el('h3', {}, 'WAL replay'), walProgress(p.walReplay || {}),
    el('h3', {}, 'Running storage work'),
    tasks.length
      ? table(['Work', 'Tenant', 'What', 'Running for', 'Progress'], tasks.map((t) => [
        el('span', { class: 'task-kind', 'data-kind': t.kind }, kindNames[t.kind] || t.kind),
        t.tenant, t.detail, elapsed(t.started), bar(t.done, t.total),
      ]), { class: 'tasks' })
      : el('p', { class: 'empty no-tasks' }, 'No head cut, compaction, conversion or upload running.'));
}

// statusProgress fills box and keeps it current while the page is open.
export async function statusProgress(box) {
  const draw = async () => {
    try {
      box.replaceChildren(renderProgress(await api('status/progress')));
    } catch (err) {
      box.replaceChildren(errorBox(err));
    }
  };
  await draw();
  setInterval(draw, 2000);
}
