/**
 * The dashboard: one self-contained page (no build step, no external assets, no network beyond its own admin
 * listener) that polls `budgets` and `stats` every second and draws, per upstream, every budget's limits as bars
 * (remaining of limit, time to reset, cool-down), the breaker, the queue and the last minute's traffic.
 *
 * The script is plain ES2017 in a string (no template literals inside, since this file is one), served with a
 * Content-Security-Policy that allows exactly this script and stylesheet, by their hashes, and connections to the
 * page's own origin.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #b35900; --bad: #cf222e; --muted: #6e7781;
  --bar: #d0d7de; --fill: #2f81f7; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
body { margin: 0; padding: 1rem 1.5rem; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
#status { color: var(--muted); font-size: .9rem; }
#status.error { color: var(--bad); }
section.upstream { border: 1px solid var(--bar); border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; }
section.upstream h2 { font-size: 1.1rem; margin: 0 0 .5rem; display: flex; gap: .75rem; align-items: center; }
.badge { font-size: .75rem; padding: .1rem .5rem; border-radius: 999px; color: #fff; background: var(--muted); }
.badge.closed { background: var(--ok); } .badge.open { background: var(--bad); } .badge.half-open { background: var(--warn); }
dl.traffic { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; margin: 0 0 .75rem; font-size: .9rem; }
dl.traffic div { display: flex; gap: .35rem; } dl.traffic dt { color: var(--muted); } dl.traffic dd { margin: 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-top: 1px solid var(--bar); vertical-align: middle; }
th { color: var(--muted); font-weight: 500; }
td.number { font-variant-numeric: tabular-nums; white-space: nowrap; }
.bar { width: 12rem; height: .6rem; background: var(--bar); border-radius: 3px; overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--fill); }
.bar.low span { background: var(--warn); } .bar.empty span { background: var(--bad); }
.cooling { color: var(--bad); } .muted { color: var(--muted); } .problem { color: var(--bad); }
`;

const SCRIPT = `
(function () {
  'use strict';
  var POLL_MS = 1000;
  var root = document.getElementById('upstreams');
  var status = document.getElementById('status');

  function node(tag, className, text) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = String(text);
    return element;
  }
  function duration(ms) {
    if (ms === null || ms === undefined) return '\\u2014';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
    return (ms / 3600000).toFixed(1) + ' h';
  }
  function amount(value) {
    if (value === null || value === undefined) return '?';
    return Math.abs(value) >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(2);
  }
  function fact(list, label, value, key) {
    var item = node('div');
    item.appendChild(node('dt', null, label));
    var data = node('dd', null, value);
    data.setAttribute('data-stat', key);
    item.appendChild(data);
    list.appendChild(item);
  }
  function bar(remaining, limit) {
    var outer = node('div', 'bar');
    var inner = node('span');
    var share = limit ? Math.max(0, Math.min(1, remaining / limit)) : 0;
    if (limit && share === 0) outer.className = 'bar empty';
    else if (limit && share < 0.1) outer.className = 'bar low';
    inner.style.width = (share * 100).toFixed(1) + '%';
    outer.appendChild(inner);
    outer.title = limit ? Math.round(share * 100) + '% left' : 'limit unknown';
    return outer;
  }
  function cell(row, text, className, key) {
    var td = node('td', className, text);
    if (key) td.setAttribute('data-field', key);
    row.appendChild(td);
    return td;
  }
  function inFlight(units) {
    var parts = [];
    for (var unit in units) if (units[unit]) parts.push(amount(units[unit]) + ' ' + unit);
    return parts.length ? parts.join(', ') : '0';
  }
  function budgetRows(body, budget) {
    var tenant = budget.tenant === null ? '\\u2014' : budget.tenant === '*' ? 'all (shared)' : budget.tenant;
    var cooling = budget.coolDownAfterMs > 0 ? duration(budget.coolDownAfterMs) : '';
    var limits = budget.limits.length ? budget.limits : [null];
    limits.forEach(function (limit) {
      var row = node('tr');
      row.setAttribute('data-budget', (budget.tenant || '') + '|' + budget.budget + '|' + (limit ? limit.name : ''));
      cell(row, tenant);
      cell(row, budget.budget);
      if (limit) {
        cell(row, limit.name + (limit.unit !== 'requests' && limit.unit !== limit.name ? ' (' + limit.unit + ')' : ''));
        var numbers = cell(row, '', 'number');
        var remaining = node('span', null, amount(limit.remaining));
        remaining.setAttribute('data-field', 'remaining');
        var capacity = node('span', null, amount(limit.limit));
        capacity.setAttribute('data-field', 'limit');
        numbers.appendChild(remaining);
        numbers.appendChild(document.createTextNode(' / '));
        numbers.appendChild(capacity);
        var track = cell(row, '');
        track.appendChild(bar(limit.remaining, limit.limit));
        cell(row, limit.model === 'bucket' && limit.refillPerSecond !== null
          ? 'refills ' + amount(limit.refillPerSecond) + '/s' : duration(limit.resetAfterMs), 'number', 'reset');
      } else {
        var unknown = cell(row, budget.discoveredRatePerSecond === null ? 'no limit known yet'
          : 'discovered ' + amount(budget.discoveredRatePerSecond) + '/s', 'muted');
        unknown.colSpan = 4;
      }
      cell(row, cooling, 'number cooling', 'cool-down');
      cell(row, inFlight(budget.inFlight), 'number', 'in-flight');
      cell(row, budget.queueDepth, 'number', 'queue');
      body.appendChild(row);
    });
  }
  function upstreamSection(view, stats) {
    var section = node('section', 'upstream');
    section.setAttribute('data-upstream', view.upstream);
    var title = node('h2');
    title.appendChild(node('span', 'name', view.upstream));
    var breaker = node('span', 'badge ' + view.breaker, 'breaker ' + view.breaker);
    breaker.setAttribute('data-field', 'breaker');
    title.appendChild(breaker);
    section.appendChild(title);
    var facts = node('dl', 'traffic');
    fact(facts, 'queue', view.queue.depth, 'queue');
    if (stats) {
      fact(facts, 'calls/s', stats.callsPerSecond, 'calls-per-second');
      fact(facts, 'latency p50 / p99', duration(stats.callLatency.p50Ms) + ' / ' + duration(stats.callLatency.p99Ms), 'latency');
      fact(facts, 'upstream p50 / p99', duration(stats.upstreamLatency.p50Ms) + ' / ' + duration(stats.upstreamLatency.p99Ms), 'upstream-latency');
      fact(facts, 'rejected by upstream', stats.upstreamRejections, 'upstream-rejections');
      fact(facts, 'answered by sluice', stats.localRejections, 'local-rejections');
      fact(facts, 'retries', stats.retries, 'retries');
    }
    section.appendChild(facts);
    if (view.error) section.appendChild(node('p', 'problem', view.error));
    if (!view.budgets.length) {
      section.appendChild(node('p', 'muted', 'No budget yet: budgets appear with the first call.'));
      return section;
    }
    var table = node('table');
    var head = node('tr');
    ['tenant', 'budget', 'limit', 'remaining / limit', '', 'reset', 'cool-down', 'in flight', 'queued'].forEach(
      function (label) { head.appendChild(node('th', null, label)); });
    table.appendChild(node('thead')).appendChild(head);
    var body = node('tbody');
    view.budgets.forEach(function (budget) { budgetRows(body, budget); });
    table.appendChild(body);
    section.appendChild(table);
    return section;
  }
  function render(budgets, stats) {
    var statsByUpstream = {};
    (stats.upstreams || []).forEach(function (entry) { statsByUpstream[entry.upstream] = entry; });
    var fragment = document.createDocumentFragment();
    budgets.upstreams.forEach(function (view) {
      fragment.appendChild(upstreamSection(view, statsByUpstream[view.upstream]));
    });
    if (!budgets.upstreams.length) fragment.appendChild(node('p', 'muted', 'No upstream is configured.'));
    root.replaceChildren(fragment);
    status.className = '';
    status.textContent = 'updated ' + new Date(budgets.generatedAtEpochMs).toLocaleTimeString();
  }
  function read(path) {
    return fetch(path, { cache: 'no-store', headers: { accept: 'application/json' } }).then(function (response) {
      if (!response.ok) throw new Error(path + ' answered ' + response.status);
      return response.json();
    });
  }
  function poll() {
    Promise.all([read('budgets'), read('stats')])
      .then(function (results) { render(results[0], results[1]); })
      .catch(function (error) {
        status.className = 'error';
        status.textContent = 'cannot reach the admin listener (' + error.message + '); retrying';
      })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
`;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');

/** Only this page's own script and style run, and it talks to nothing but its own origin. */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${sha256(SCRIPT)}'`,
  // The bars' widths are set through the CSSOM, which style-src does not govern: the stylesheet's hash is enough.
  `style-src 'sha256-${sha256(STYLE)}'`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>Sluice budgets</h1><span id="status">loading…</span></header>
<main id="upstreams"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
