// The page at `/` and the tail page, rendered whole on the server: with JavaScript off they are
// the interface; with it on, assets/app.js keeps the same rows up to date.
import { STATE_CODES } from '../../types';
import { webAssets } from './assets';
import { esc } from './html';
import { shown, type Filters, type RowView } from './view';

const ROW_ACTIONS: Array<[action: string, label: string]> = [
  ['start', 'Start'],
  ['stop', 'Stop'],
  ['restart', 'Restart'],
  ['clear', 'Clear log'],
];

function head(title: string, script: boolean): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="${webAssets().css.path}">${script ? `<script defer src="${webAssets().js.path}"></script>` : ''}</head>`;
}

/** One process row; also the browser's template for rows that appear later (a group added by reload). */
function row(v: RowView, hidden: boolean): string {
  const n = esc(v.n);
  const buttons = ROW_ACTIONS.map(([a, label]) => `<button name="action" value="${a}" data-action="${a}">${label}</button>`).join('');
  return `<tr data-process="${n}" data-state="${v.s}" data-rank="${v.r}" data-failing="${v.f}"${hidden ? ' hidden' : ''}>`
    + `<td class="name">${n}</td><td class="state"><span>${v.s}</span></td><td class="desc">${esc(v.d)}</td>`
    + `<td class="health"><span class="h">${esc(v.h)}</span><span class="w">${esc(v.w)}</span></td>`
    + `<td class="cpu">${esc(v.c ?? '')}</td><td class="mem">${esc(v.m ?? '')}</td>`
    + `<td class="actions"><form class="act" method="post" action="/web/action"><input type="hidden" name="name" value="${n}">${buttons}`
    + `<button data-action="tail" formmethod="get" formaction="/web/tail">Tail</button></form></td></tr>`;
}

function option(value: string, label: string, selected: string): string {
  return `<option value="${value}"${value === selected ? ' selected' : ''}>${label}</option>`;
}

export function renderPage(views: RowView[], filters: Filters, message: string, error: boolean): string {
  if (filters.failingFirst) views = [...views].sort((a, b) => a.r - b.r);
  const states = ['', 'failing', ...Object.keys(STATE_CODES)];
  const blank: RowView = { n: '', s: 'UNKNOWN', d: '', h: '', w: '', r: 2, f: 1 };
  return `${head('ringmaster', true)}<body>
<header><h1>ringmaster</h1>
<form class="act all" method="post" action="/web/action"><input type="hidden" name="name" value="all">
<button name="action" value="restartall" data-action="restartall">Restart all</button>
<button name="action" value="stopall" data-action="stopall">Stop all</button></form></header>
<p id="msg" role="status" class="${error ? 'error' : ''}">${esc(message)}</p>
<form id="filters" method="get" action="/">
<label>State <select name="state">${states.map((s) => option(s, s === '' ? 'all' : s === 'failing' ? 'failing' : s, filters.state)).join('')}</select></label>
<label>Name <input type="search" name="q" value="${esc(filters.q)}" placeholder="filter by name" autocomplete="off"></label>
<label><input type="checkbox" name="order" value="failing"${filters.failingFirst ? ' checked' : ''}> failing first</label>
<button type="submit" class="apply">Apply</button> <span id="count"></span></form>
<table><thead><tr><th>Name</th><th>State</th><th>Description</th><th>Health</th><th>CPU</th><th>Memory</th><th>Actions</th></tr></thead>
<tbody id="procs">${views.map((v) => row(v, !shown(v, filters))).join('')}</tbody></table>
<template id="row-template">${row(blank, false)}</template>
</body></html>`;
}

/** The tail page without JavaScript: the last bytes of both streams, as text. */
export function renderTail(name: string, stdout: string, stderr: string): string {
  const n = esc(name);
  return `${head(`${name} — ringmaster`, false)}<body class="tailpage"><header><h1>${n}</h1><a href="/">back</a> <a href="/web/tail?name=${encodeURIComponent(name)}">refresh</a></header>
<h2>stdout</h2><pre class="out">${esc(stdout)}</pre><h2>stderr</h2><pre class="out err">${esc(stderr)}</pre></body></html>`;
}
