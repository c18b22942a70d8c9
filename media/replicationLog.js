// @ts-check
// The replication-log webview: a virtualised table (only the visible rows exist in the DOM), so
// 100,000 entries scroll and filter smoothly. Types come from the shared protocol file.
/** @typedef {import('../src/extension/webviews/replicationLog/protocol').LogRow} LogRow */
/** @typedef {import('../src/extension/webviews/replicationLog/protocol').LagRow} LagRow */
/** @typedef {import('../src/extension/webviews/replicationLog/protocol').ToWebview} ToWebview */
/** @typedef {import('../src/extension/webviews/replicationLog/protocol').FromWebview} FromWebview */
/** @typedef {import('../src/extension/webviews/replicationLog/protocol').ViewState} ViewState */
(function () {
  const vscode = acquireVsCodeApi();
  const ROW_H = 22;
  const OVERSCAN = 10;
  const MAX_ROWS = 200000;

  /** @type {LogRow[]} all entries, oldest first */
  let rows = [];
  /** @type {LogRow[]} entries passing the filters, oldest first */
  let shown = [];
  /** @type {LogRow[]} entries that arrived while paused */
  let held = [];
  /** @type {Record<string, Record<string, number>>} node -> peer -> acknowledged up to (exclusive) */
  let cursors = {};
  /** @type {ViewState} */
  const state = Object.assign({ nodeFilter: '', keyFilter: '', follow: true }, vscode.getState() || {});

  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const nodeSelect = /** @type {HTMLSelectElement} */ ($('node-filter'));
  const keyInput = /** @type {HTMLInputElement} */ ($('key-filter'));
  const followButton = $('follow');
  const viewport = $('viewport');
  const spacer = $('spacer');
  const counts = $('counts');
  const lag = $('lag');
  const empty = $('empty');
  /** @type {HTMLElement[]} */
  const pool = [];

  /** @param {FromWebview} message */
  const send = (message) => vscode.postMessage(message);

  /** @param {LogRow} r */
  function passes(r) {
    return (!state.nodeFilter || r.n === state.nodeFilter) && (!state.keyFilter || r.key.includes(state.keyFilter));
  }

  function refilter() {
    shown = rows.filter(passes);
    render();
  }

  /** @param {LogRow} r @param {string} peer @param {boolean} acked */
  function isAcked(r, peer, acked) {
    return acked || ((cursors[r.n] || {})[peer] || 0) > r.lsn;
  }

  /** @param {HTMLElement} el @param {LogRow} r */
  function fill(el, r) {
    const cells = /** @type {HTMLElement[]} */ (Array.from(el.children));
    cells[0].textContent = r.n;
    cells[1].textContent = String(r.lsn);
    cells[2].textContent = r.opId;
    cells[3].textContent = r.origin;
    // A skip holds an op id for a node that does not replicate the op's partition: it has no key.
    const skip = r.kind === 'skip' && r.key === '';
    cells[4].textContent = skip ? '(no key: a skip)' : r.key;
    cells[4].title = r.getKey ? `${r.key}: click to read it with Get`
      : skip ? 'A skip: this op id went to a node that does not replicate its partition, so its version vector stays gap-free; it carries no key or value' : r.key;
    cells[4].classList.toggle('skip-key', skip);
    cells[4].classList.toggle('key', r.getKey !== undefined);
    if (r.getKey) el.dataset.getKey = r.getKey;
    else delete el.dataset.getKey;
    cells[5].textContent = String(r.ts);
    cells[6].textContent = r.kind;
    cells[6].className = `kind-${r.kind}`;
    const acks = cells[7];
    if (r.acks.length === 0) {
      // No destination waits for this entry: a blank cell read as "nobody acknowledged it".
      const s = document.createElement('span');
      s.className = 'ack none';
      s.textContent = r.origin === r.n ? 'no peers' : 'received';
      s.title = r.origin === r.n
        ? `${r.n} has no peer to send it to`
        : `${r.n} received it from ${r.origin}; it forwards it to no peer, so no acknowledgement is due`;
      acks.replaceChildren(s);
      return;
    }
    acks.replaceChildren(...r.acks.map(([peer, acked]) => {
      const s = document.createElement('span');
      const ok = isAcked(r, peer, acked);
      s.className = `ack ${ok ? 'yes' : 'no'}`;
      s.textContent = `${ok ? '✓' : '…'}${peer}`;
      s.title = `${peer} ${ok ? 'acknowledged' : 'has not acknowledged yet'}`;
      return s;
    }));
  }

  function makeRow() {
    const el = document.createElement('div');
    el.className = 'row';
    el.setAttribute('role', 'row');
    for (let i = 0; i < 8; i++) {
      const c = document.createElement('span');
      c.setAttribute('role', 'cell');
      if (i === 4) c.classList.add('key');
      el.appendChild(c);
    }
    el.children[4].addEventListener('click', () => {
      // The shown text is for reading (a row, a salted variant): Get is given the key it names.
      const key = el.dataset.getKey;
      if (key) send({ type: 'openKey', key });
    });
    return el;
  }

  function render() {
    spacer.style.height = `${shown.length * ROW_H}px`;
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_H) - OVERSCAN);
    const count = Math.ceil(viewport.clientHeight / ROW_H) + 2 * OVERSCAN;
    const last = Math.min(shown.length, first + count);
    while (pool.length < last - first) {
      const el = makeRow();
      pool.push(el);
      spacer.appendChild(el);
    }
    for (let i = 0; i < pool.length; i++) {
      const el = pool[i];
      const index = first + i;
      if (index >= last) { el.hidden = true; continue; }
      el.hidden = false;
      el.style.top = `${index * ROW_H}px`;
      fill(el, shown[shown.length - 1 - index]); // newest first
    }
    const paused = held.length ? ` · ${held.length} new while paused` : '';
    counts.textContent = `${shown.length.toLocaleString()} of ${rows.length.toLocaleString()} entries${paused}`;
    empty.hidden = rows.length > 0;
    send({ type: 'rendered', total: rows.length, shown: shown.length });
  }

  /** @param {LogRow[]} batch */
  function append(batch) {
    rows.push(...batch);
    if (rows.length > MAX_ROWS) {
      rows = rows.slice(rows.length - MAX_ROWS);
      refilter();
      return;
    }
    for (const r of batch) if (passes(r)) shown.push(r);
    render();
  }

  /** @param {LagRow[]} rowsOfLag */
  function renderLag(rowsOfLag) {
    lag.replaceChildren(...rowsOfLag.map((l) => {
      const card = document.createElement('span');
      card.className = 'lag-card';
      // A card is one node's log and who lacks what of it: "n1 ... 1 behind" read as n1 lagging.
      // The counts run from a peer's cursor to the log's end, entries not for that peer included
      // (its own writes): "up to", as `ringdb status` says.
      const behind = Object.entries(l.behind);
      const lacking = behind.filter(([, n]) => n > 0);
      const name = document.createElement('strong');
      name.textContent = `${l.node}'s log`;
      const detail = document.createElement('span');
      detail.className = lacking.length ? 'behind' : 'caught-up';
      detail.textContent = !behind.length
        ? ': no acknowledgement heard yet'
        : lacking.length
          ? `: ${lacking.map(([p, n]) => `${p} lacks up to ${n}`).join(', ')}`
          : ': every peer has it';
      card.title = `${l.node} has written ${l.nextLsn} log entries; per peer, entries after its acknowledgement cursor (at most this many are owed to it): ${behind.map(([p, n]) => `${p} ${n}`).join(', ') || 'none heard'}`;
      card.append(name, detail);
      if (l.state) {
        const state = document.createElement('span');
        state.className = 'node-state';
        state.textContent = ` (${l.node} ${l.state})`;
        card.append(state);
      }
      return card;
    }));
  }

  /** @param {string[]} nodes */
  function setNodes(nodes) {
    // Without nodes no cluster runs: "write a key with Put" would name a command that is disabled.
    empty.textContent = nodes.length
      ? 'No replication entries yet: write a key with "RingDB: Put".'
      : 'No cluster runs: start one with "RingDB: Start Cluster"; its nodes\' replication logs show here.';
    const current = state.nodeFilter;
    const names = Array.from(new Set([...nodes, ...(current ? [current] : [])]));
    nodeSelect.replaceChildren(new Option('all nodes', ''), ...names.map((n) => new Option(n, n)));
    nodeSelect.value = current;
  }

  function saveState() {
    vscode.setState(state);
  }

  function setFollow(/** @type {boolean} */ follow) {
    state.follow = follow;
    followButton.setAttribute('aria-pressed', String(follow));
    followButton.textContent = follow ? 'Pause' : 'Follow';
    if (follow) {
      const batch = held;
      held = [];
      if (batch.length) append(batch);
      viewport.scrollTop = 0;
      render();
    }
    saveState();
  }

  /** @param {unknown} data @returns {data is ToWebview} */
  function isMessage(data) {
    if (!data || typeof data !== 'object') return false;
    const t = /** @type {{type?: unknown}} */ (data).type;
    return t === 'init' || t === 'append' || t === 'cursors' || t === 'lag' || t === 'cleared';
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!isMessage(m)) return;
    switch (m.type) {
      case 'init':
        rows = m.rows.slice();
        held = [];
        cursors = m.cursors;
        setNodes(m.nodes);
        renderLag(m.lag);
        refilter();
        break;
      case 'append':
        if (state.follow) append(m.rows);
        else { held.push(...m.rows); render(); }
        break;
      case 'cursors':
        cursors[m.node] = m.cursors;
        render();
        break;
      case 'lag':
        renderLag(m.lag);
        setNodes(m.nodes);
        break;
      case 'cleared':
        rows = [];
        shown = [];
        held = [];
        cursors = {};
        render();
        break;
    }
  });

  nodeSelect.addEventListener('change', () => { state.nodeFilter = nodeSelect.value; saveState(); refilter(); });
  keyInput.addEventListener('input', () => { state.keyFilter = keyInput.value; saveState(); refilter(); });
  followButton.addEventListener('click', () => setFollow(!state.follow));
  viewport.addEventListener('scroll', () => render(), { passive: true });
  window.addEventListener('resize', () => render());

  keyInput.value = state.keyFilter;
  setFollow(state.follow);
  send({ type: 'ready' });
})();
