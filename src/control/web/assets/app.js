// ringmaster's web page, live: one EventSource (/web/events) keeps the server-rendered rows
// current; buttons post the same forms the page has without JavaScript. Rows carry the
// server's texts, so nothing is formatted here; every text goes in as textContent.
'use strict';
(() => {
  const root = document.documentElement;
  root.classList.add('js');
  const tbody = document.getElementById('procs');
  const template = document.getElementById('row-template');
  const msg = document.getElementById('msg');
  const filters = document.getElementById('filters');
  const count = document.getElementById('count');
  /** namespec -> row, in the supervisor's order. */
  const rows = new Map();
  for (const tr of tbody.querySelectorAll('tr[data-process]')) rows.set(tr.dataset.process, tr);

  const TAIL_KEEP = 64 * 1024;
  let source = null;
  let seen = null;
  let tail = null; // see openTail()
  let pending = false;

  function cell(tr, cls) {
    return tr.querySelector(cls);
  }

  function newRow(name) {
    const tr = template.content.firstElementChild.cloneNode(true);
    tr.dataset.process = name;
    cell(tr, '.name').textContent = name;
    tr.querySelector('input[name="name"]').value = name;
    rows.set(name, tr);
    tbody.append(tr);
    return tr;
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function update(v) {
    const tr = rows.get(v.n) || newRow(v.n);
    // Attributes only when they change: each write restyles the row, and CSS keys on them.
    if (tr.dataset.state !== v.s) tr.dataset.state = v.s;
    if (tr.dataset.rank !== String(v.r)) tr.dataset.rank = v.r;
    if (tr.dataset.failing !== String(v.f)) tr.dataset.failing = v.f;
    setText(cell(tr, '.state span'), v.s);
    setText(cell(tr, '.desc'), v.d);
    setText(cell(tr, '.health .h'), v.h);
    setText(cell(tr, '.health .w'), v.w);
    if (v.c !== undefined) setText(cell(tr, '.cpu'), v.c || '');
    if (v.m !== undefined) setText(cell(tr, '.mem'), v.m || '');
  }

  // Filtering and ordering follow the same query as the server's (state, q, order).
  function arrange() {
    pending = false;
    const state = filters.elements.state.value;
    const q = filters.elements.q.value.toLowerCase();
    const failingFirst = filters.elements.order.checked;
    const list = [...rows.values()];
    if (failingFirst) list.sort((a, b) => a.dataset.rank - b.dataset.rank);
    let shown = 0;
    let prev = null;
    for (const tr of list) {
      const ok = (state === '' || (state === 'failing' ? tr.dataset.failing === '1' : tr.dataset.state === state)) &&
        (q === '' || tr.dataset.process.toLowerCase().includes(q));
      if (tr.hidden === ok) tr.hidden = !ok;
      if (ok) shown++;
      // Move only what is out of place: a calm table costs nothing to re-arrange.
      const want = prev ? prev.nextElementSibling : tbody.firstElementChild;
      if (want !== tr) (prev ? prev.after(tr) : tbody.prepend(tr));
      prev = tr;
      if (tail && tail.name === tr.dataset.process) {
        if (tr.nextElementSibling !== tail.tr) tr.after(tail.tr);
        tail.tr.hidden = !ok;
        prev = tail.tr;
      }
    }
    count.textContent = `${shown} of ${rows.size}`;
  }

  function later() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(arrange);
    }
  }

  function show(text, ok) {
    msg.textContent = text;
    msg.className = ok ? '' : 'error';
  }

  // Output is written once per frame, however many chunks came: a chatty program costs one
  // layout per frame, and each pane keeps at most 2 × TAIL_KEEP characters.
  function appendOut(stream, text) {
    const t = tail;
    t.pending[stream] = (t.pending[stream] + text).slice(-TAIL_KEEP);
    if (t.flushing) return;
    t.flushing = true;
    requestAnimationFrame(() => {
      t.flushing = false;
      for (const s of ['stdout', 'stderr']) {
        const chunk = t.pending[s];
        if (!chunk) continue;
        t.pending[s] = '';
        const pre = t.out[s];
        const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        t.length[s] += chunk.length;
        if (t.length[s] > 2 * TAIL_KEEP) {
          pre.textContent = (pre.textContent + chunk).slice(-TAIL_KEEP);
          t.length[s] = pre.textContent.length;
        } else pre.append(chunk);
        if (atEnd) pre.scrollTop = pre.scrollHeight;
      }
    });
  }

  function clearOut() {
    for (const s of ['stdout', 'stderr']) {
      tail.out[s].textContent = '';
      tail.pending[s] = '';
      tail.length[s] = 0;
    }
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(`/web/events${tail ? `?tail=${encodeURIComponent(tail.name)}` : ''}`);
    source.onopen = () => {
      // A new connection starts with a full snapshot and the tail's recent bytes again.
      seen = new Set();
      if (tail) clearOut();
    };
    source.addEventListener('row', (e) => {
      const v = JSON.parse(e.data);
      if (seen) seen.add(v.n);
      update(v);
      later();
    });
    source.addEventListener('synced', () => {
      if (seen) {
        for (const [name, tr] of rows) {
          if (!seen.has(name)) {
            tr.remove();
            rows.delete(name);
          }
        }
      }
      seen = null;
      arrange();
      root.dataset.live = '1';
      performance.mark('ringmaster-live');
    });
    source.addEventListener('usage', (e) => {
      for (const [name, desc, cpu, mem] of JSON.parse(e.data)) {
        const tr = rows.get(name);
        if (!tr) continue;
        setText(cell(tr, '.desc'), desc);
        setText(cell(tr, '.cpu'), cpu || '');
        setText(cell(tr, '.mem'), mem || '');
      }
    });
    source.addEventListener('out', (e) => {
      const o = JSON.parse(e.data);
      if (tail) appendOut(o.s, o.t);
    });
    source.addEventListener('resync', connect);
    source.onerror = () => {
      root.dataset.live = '0';
      // A network error is retried by EventSource itself; an HTTP error (the tailed process was
      // removed: 404) closes it for good: drop the tail and come back without it.
      if (source.readyState !== EventSource.CLOSED) return;
      if (tail) {
        tail.tr.remove();
        tail = null;
      }
      const closed = source;
      setTimeout(() => source === closed && connect(), 2000);
    };
  }

  function openTail(name) {
    const tr = document.createElement('tr');
    tr.className = 'tail';
    const td = document.createElement('td');
    td.colSpan = 7;
    const head = document.createElement('div');
    head.className = 'tail-head';
    const title = document.createElement('strong');
    title.textContent = `${name}: recent output, following`;
    const close = document.createElement('button');
    close.type = 'button';
    close.textContent = 'Close';
    close.dataset.close = '';
    head.append(title, close);
    const streams = document.createElement('div');
    streams.className = 'streams';
    const out = {};
    for (const s of ['stdout', 'stderr']) {
      const box = document.createElement('div');
      const h = document.createElement('h2');
      h.textContent = s;
      const pre = document.createElement('pre');
      pre.className = s === 'stderr' ? 'out err' : 'out';
      pre.dataset.stream = s;
      box.append(h, pre);
      streams.append(box);
      out[s] = pre;
    }
    td.append(head, streams);
    tr.append(td);
    return { name, tr, out, pending: { stdout: '', stderr: '' }, length: { stdout: 0, stderr: 0 }, flushing: false };
  }

  function toggleTail(name) {
    const same = tail && tail.name === name;
    if (tail) tail.tr.remove();
    tail = same ? null : openTail(name);
    arrange();
    connect();
  }

  async function post(name, action, button) {
    button.disabled = true;
    try {
      const res = await fetch('/web/action', {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ name, action }),
      });
      const type = res.headers.get('content-type') || '';
      const body = type.includes('json') ? await res.json() : { ok: false, message: `${res.status} ${res.statusText}` };
      show(body.message || body.error || `${res.status}`, res.ok && body.ok !== false);
      if (res.ok && action === 'clear' && tail && tail.name === name) clearOut();
    } catch (err) {
      show(`${name}: ${err.message}`, false);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (form === filters) {
      e.preventDefault();
      return;
    }
    const button = e.submitter;
    const action = button && button.dataset.action;
    if (!form.classList.contains('act') || !action) return;
    e.preventDefault();
    const name = form.elements.name.value;
    if (action === 'tail') return toggleTail(name);
    if ((action === 'stopall' || action === 'restartall') && !confirm(action === 'stopall' ? 'Stop every process?' : 'Restart every process?')) return;
    post(name, action, button);
  });

  document.addEventListener('click', (e) => {
    if (e.target.matches && e.target.matches('[data-close]') && tail) toggleTail(tail.name);
  });

  // Filters apply as typed; the address keeps them, so a reload or a shared link shows the same.
  filters.addEventListener('input', () => {
    const q = new URLSearchParams(new FormData(filters));
    for (const [k, v] of [...q]) if (v === '') q.delete(k);
    history.replaceState(null, '', q.size ? `/?${q}` : '/');
    arrange();
  });

  // A hidden tab holds no connection; it resyncs when seen again.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      if (source) source.close();
      source = null;
    } else if (!source) connect();
  });

  // The server applied the page's filters already; only the count is left to show.
  count.textContent = `${tbody.querySelectorAll('tr[data-process]:not([hidden])').length} of ${rows.size}`;
  performance.mark('ringmaster-interactive');
  root.dataset.interactive = '1';
  connect();
})();
