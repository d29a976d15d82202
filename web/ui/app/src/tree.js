// The explain view of the query page: the parsed query as a tree, from
// /api/v1/parse_query (the same endpoint Prometheus 3's UI reads for its
// tree view), one line per node.
import { api } from './api.js';
import { el, errorBox } from './dom.js';

function matchers(ms) {
  return (ms || []).filter((m) => m.name !== '__name__' || m.type !== '=')
    .map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`).join(', ');
}

function dur(ms) {
  if (!ms) return '';
  const units = [['d', 86400e3], ['h', 3600e3], ['m', 60e3], ['s', 1e3], ['ms', 1]];
  let out = '';
  for (const [u, n] of units) if (ms >= n) { out += Math.floor(ms / n) + u; ms %= n; }
  return out;
}

function selector(n) {
  const m = matchers(n.matchers);
  return `${n.name || ''}${m || !n.name ? `{${m}}` : ''}`;
}

function label(n) {
  switch (n.type) {
    case 'aggregation': return `${n.op}${n.grouping?.length || n.without ? ` ${n.without ? 'without' : 'by'} (${n.grouping.join(', ')})` : ''}`;
    case 'binaryExpr': return `${n.op}${n.bool ? ' bool' : ''}${n.matching?.on || n.matching?.labels?.length ? ` ${n.matching.on ? 'on' : 'ignoring'} (${n.matching.labels.join(', ')})` : ''}${n.matching && n.matching.card !== 'one-to-one' && n.matching.card !== 'many-to-many' ? ` ${n.matching.card}` : ''}`;
    case 'call': return `${n.func.name}()`;
    case 'matrixSelector': return `${selector(n)}[${dur(n.range)}]${n.offset ? ` offset ${dur(n.offset)}` : ''}`;
    case 'vectorSelector': return `${selector(n)}${n.offset ? ` offset ${dur(n.offset)}` : ''}`;
    case 'subquery': return `subquery [${dur(n.range)}:${dur(n.step)}]`;
    case 'numberLiteral': return n.val;
    case 'stringLiteral': return JSON.stringify(n.val);
    case 'parenExpr': return '( … )';
    case 'unaryExpr': return `${n.op} (unary)`;
    default: return n.type;
  }
}

function children(n) {
  switch (n.type) {
    case 'aggregation': return [n.param, n.expr];
    case 'binaryExpr': return [n.lhs, n.rhs];
    case 'call': return n.args;
    case 'subquery': case 'parenExpr': case 'unaryExpr': return [n.expr];
    default: return [];
  }
}

function node(n) {
  const kids = (children(n) || []).filter((c) => c && typeof c === 'object');
  return el('li', { 'data-type': n.type },
    el('span', { class: 'node' }, el('span', { class: 'node-type' }, n.type), ' ', el('code', {}, label(n))),
    kids.length ? el('ul', {}, kids.map(node)) : null);
}

export async function explainTree(expr) {
  try {
    const ast = await api('parse_query', { query: expr });
    return el('ul', { class: 'tree' }, node(ast));
  } catch (err) {
    return errorBox(err);
  }
}
