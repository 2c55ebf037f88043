'use strict';
// The Fleet Server console: signs in with the management token (exchanged for an HttpOnly session cookie; the
// token itself is never stored) and works through the management API with that cookie. Plain JavaScript, no build
// step: each view is a section of index.html, filled by its load function and refreshed while it is shown.

const PAGE_SIZE = 50;
/** How often each view is read again while shown: views over every agent less often than one agent's or policy's. */
const REFRESH_MS = { overview: 10000, agents: 10000, policies: 10000, tokens: 10000, actions: 5000, agent: 3000,
  policy: 3000, action: 3000 };
/** Statuses the overview always shows, even at zero; the others only when some agent has them. */
const ALWAYS_SHOWN = ['online', 'offline', 'updating', 'degraded', 'error', 'unenrolled', 'uninstalled'];
const VIEWS = ['sign-in', 'overview', 'agents', 'agent', 'policies', 'policy', 'policy-new', 'tokens', 'actions', 'action'];

const state = { view: null, arg: null, page: 1, selected: new Set(), policies: null, policiesAt: 0, editorLoaded: null,
  loadedAt: 0, loadMillis: 0, loading: false, gen: 0, kuery: '' };

/**
 * Whether what a loader read is still wanted: navigating, searching or paging starts a new generation, and a reading
 * begun before it (a refresh answering late) must not fill the view now shown.
 */
function stale(gen) {
  return gen !== state.gen;
}

const $ = (id) => document.getElementById(id);

/** An element with text or children; attributes as a map (never HTML from data). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) {
      continue;
    }
    if (k === 'className') {
      el.className = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k.startsWith('on')) {
      el.addEventListener(k.slice(2), v);
    } else {
      el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) {
      el.append(c instanceof Node ? c : String(c));
    }
  }
  return el;
}

function td(...children) {
  return h('td', {}, ...children);
}

/**
 * Puts the rows in the table's body unless they are what it shows already, so a refresh neither flickers nor takes
 * the keyboard focus away: a focused control in a row keeps the focus in that row's new copy.
 */
function renderRows(table, ...rows) {
  const body = table.tBodies[0];
  if (body.innerHTML === rows.map((r) => r.outerHTML).join('')) {
    return;
  }
  const focused = body.contains(document.activeElement) ? document.activeElement : null;
  let key = null;
  let index = -1;
  if (focused) {
    const tr = focused.closest('tr');
    key = tr ? JSON.stringify(tr.dataset) : null;
    index = tr ? [...tr.querySelectorAll('a, button, input, select')].indexOf(focused) : -1;
  }
  body.replaceChildren(...rows);
  if (key !== null && index >= 0) {
    const tr = [...body.rows].find((r) => JSON.stringify(r.dataset) === key);
    const again = tr ? tr.querySelectorAll('a, button, input, select')[index] : null;
    if (again) {
      again.focus();
    }
  }
}

function badge(status) {
  return h('span', { className: `badge ${status}` }, status);
}

function when(iso) {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  return isNaN(d) ? iso : h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body, options = {}) {
  const headers = {};
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = options.contentType || 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path, { method, credentials: 'same-origin', headers, body: payload });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (res.status === 401 && path !== '/ui/api/session') {
    showSignIn('Your session has ended: sign in again.');
    throw new ApiError('signed out', 401);
  }
  if (!res.ok) {
    const message = json && json.message ? json.message : (text || res.statusText);
    const retry = res.headers.get('Retry-After');
    throw new ApiError(retry ? `${message} (retry in ${retry} s)` : message, res.status);
  }
  return json ?? text;
}

function notice(text) {
  $('notice').textContent = text;
}

function showSignIn(message) {
  state.view = 'sign-in';
  $('nav').hidden = true;
  for (const id of VIEWS) {
    $(id).hidden = id !== 'sign-in';
  }
  $('sign-in-error').textContent = message || '';
  $('token').focus();
}

function show(view) {
  const changed = state.view !== view;
  state.view = view;
  if (changed) {
    notice(state.nextNotice || '');
    state.nextNotice = null;
  }
  $('nav').hidden = false;
  for (const id of VIEWS) {
    $(id).hidden = id !== view;
  }
  const section = { agent: 'agents', policy: 'policies', 'policy-new': 'policies', action: 'actions' }[view] || view;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === section) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
  if (changed) {
    const title = $(view).querySelector('h2');
    if (title) {
      title.focus();
    }
  }
}

async function signIn(event) {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  const field = $('token');
  try {
    await api('POST', '/ui/api/session', { token: field.value });
    field.value = '';
    if (!location.hash || location.hash === '#sign-in') {
      location.hash = '#overview';
    }
    route();
  } catch (e) {
    $('sign-in-error').textContent = e.message;
  }
}

async function signOut() {
  await api('DELETE', '/ui/api/session');
  showSignIn('Signed out.');
}

// --- shared data ---

/** The policies, cached for a few seconds: several views name them. */
async function policies(fresh) {
  if (fresh || !state.policies || Date.now() - state.policiesAt > 10000) {
    state.policies = (await api('GET', '/api/fleet/agent_policies?full=false')).items;
    state.policiesAt = Date.now();
    for (const select of document.querySelectorAll('.policy-select')) {
      const value = select.value;
      select.replaceChildren(...state.policies.map((p) => h('option', { value: p.id }, `${p.name} (${p.id})`)));
      if (value) {
        select.value = value;
      }
    }
  }
  return state.policies;
}

function policyById(id) {
  return (state.policies || []).find((p) => p.id === id);
}

// --- overview ---

function barRow(label, count, max, extra) {
  return h('tr', {}, h('th', { scope: 'row' }, label),
    td(h('progress', { max: String(Math.max(1, max)), value: String(count), 'aria-label': `${label}: ${count}` })),
    td(String(count)), extra ? td(extra) : null);
}

async function loadOverview() {
  try {
    const [summary, server] = await Promise.all([api('GET', '/api/fleet/agents/summary'), api('GET', '/ui/api/server')]);
    // The server lists every status, in its order.
    const statuses = Object.keys(summary.by_status).filter((s) => summary.by_status[s] > 0 || ALWAYS_SHOWN.includes(s));
    $('status-counts').replaceChildren(
      h('div', {}, h('dt', {}, 'agents'), h('dd', { id: 'count-total' }, String(summary.active))),
      ...statuses.map((s) => h('div', {}, h('dt', {}, s), h('dd', { id: `count-${s}` }, String(summary.by_status[s] ?? 0)))));
    const most = Math.max(1, ...Object.values(summary.by_status));
    renderRows($('by-status'), ...statuses.map((s) => barRow(s, summary.by_status[s] ?? 0, most)));
    renderRows($('by-policy'), ...summary.by_policy.map((p) => barRow(
      h('a', { href: `#policy/${encodeURIComponent(p.policy_id)}` }, p.name), p.agents, summary.active,
      p.outdated ? h('span', { className: 'badge outdated' }, `${p.outdated} outdated`) : '')));
    renderRows($('by-version'), ...summary.by_version.map((v) => barRow(v.version || 'unknown', v.agents,
      summary.active)));
    renderServer(server);
    $('overview-error').textContent = '';
  } catch (e) {
    $('overview-error').textContent = e.message;
  }
}

function ms(timing) {
  return timing && timing.count ? `${timing.mean_ms.toFixed(1)} ms mean, ${timing.max_ms.toFixed(1)} ms max (${timing.count})` : 'none yet';
}

function duration(millis) {
  const s = Math.floor(millis / 1000);
  if (s < 120) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function renderServer(server) {
  const facts = [['State', server.status], ['Version', server.version]];
  if (server.fleet) {
    const f = server.fleet;
    facts.push(['Parked checkins', String(f.checkins_parked)]);
    facts.push(['Up for', duration(server.uptime_ms || 0)]);
    for (const [cause, t] of Object.entries(f.fanout || {})) {
      facts.push([`Fan-out (${cause.replaceAll('_', ' ')})`, ms(t)]);
    }
    for (const [op, t] of Object.entries(f.store || {})) {
      if (typeof t === 'object') {
        facts.push([`Store ${op}`, ms(t)]);
      }
    }
    if (server.jvm) {
      facts.push(['Heap', `${Math.round(server.jvm.heap_used / 1048576)} of ${Math.round(server.jvm.heap_max / 1048576)} MiB`]);
    }
  } else {
    facts.push(['Measurements', 'off (metrics disabled)']);
  }
  $('server-health').replaceChildren(...facts.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
}

// --- agents ---

function agentName(a) {
  return a.local_metadata?.host?.hostname ?? a.id;
}

function revisionCell(a) {
  const policy = policyById(a.policy_id);
  const cell = td(a.policy_revision ?? '');
  if (policy && a.policy_revision !== undefined && a.policy_revision < policy.revision) {
    cell.append(' ', h('span', { className: 'badge outdated', title: `latest is ${policy.revision}` }, 'outdated'));
  }
  return cell;
}

async function loadAgents() {
  const gen = state.gen;
  const { kuery, page } = state;
  const query = new URLSearchParams({ page: String(page), perPage: String(PAGE_SIZE) });
  if (kuery) {
    query.set('kuery', kuery);
  }
  try {
    await policies();
    const list = await api('GET', `/api/fleet/agents?${query}`);
    if (stale(gen)) {
      return;
    }
    renderRows($('agents-table'), ...list.items.map((a) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${agentName(a)}`, checked: state.selected.has(a.id) });
      box.addEventListener('change', () => (box.checked ? state.selected.add(a.id) : state.selected.delete(a.id)));
      const policy = policyById(a.policy_id);
      return h('tr', { dataset: { agentId: a.id } }, td(box),
        td(h('a', { href: `#agent/${encodeURIComponent(a.id)}` }, agentName(a))), td(badge(a.status)),
        td(policy ? h('a', { href: `#policy/${encodeURIComponent(a.policy_id)}` }, policy.name) : a.policy_id),
        revisionCell(a), td(a.agent?.version ?? ''), td(when(a.last_checkin)), td((a.tags ?? []).join(', ')));
    }));
    const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
    $('page-label').textContent = `Page ${page} of ${pages} (${list.total} agents)`;
    $('previous-page').disabled = page <= 1;
    $('next-page').disabled = page >= pages;
    $('agents-error').textContent = '';
  } catch (e) {
    $('agents-error').textContent = e.message;
  }
}

function upgradeBody(version, rollout) {
  if (!/^\d+\.\d+\.\d+(-[A-Za-z0-9.+]+)?$/.test(version)) {
    throw new Error('Enter the version to upgrade to, such as 9.1.0.');
  }
  const body = { version };
  if (rollout > 0) {
    body.rollout_duration_seconds = rollout;
  }
  return body;
}

async function confirmed(text) {
  $('confirm-text').textContent = text;
  const dialog = $('confirm');
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

async function bulkApply(event) {
  event.preventDefault();
  const result = $('bulk-result');
  result.textContent = '';
  const scope = new FormData($('bulk-form')).get('scope');
  const kuery = state.kuery;
  let agents;
  if (scope === 'selected') {
    agents = [...state.selected];
    if (agents.length === 0) {
      result.textContent = 'Select agents first, or act on every agent matching the search.';
      return;
    }
  } else {
    agents = kuery;
  }
  const who = Array.isArray(agents) ? `${agents.length} selected agent(s)`
    : agents ? `every agent matching "${agents}"` : 'every agent';
  const action = $('bulk-action').value;
  const acting = { upgrade: 'Upgrade', reassign: 'Assign to another policy', unenroll: 'Unenroll',
    'force-unenroll': 'Force unenroll' }[action];
  if (!Array.isArray(agents) && !(await confirmed(`${acting} ${who}?`))) {
    return;
  }
  try {
    let answer;
    if (action === 'upgrade') {
      answer = await api('POST', '/api/fleet/agents/bulk_upgrade', { agents,
        ...upgradeBody($('bulk-version').value.trim(), Number($('bulk-rollout').value || 0)) });
    } else if (action === 'reassign') {
      answer = await api('POST', '/api/fleet/agents/bulk_reassign', { agents, policy_id: $('bulk-policy').value });
    } else {
      const force = action === 'force-unenroll';
      if (Array.isArray(agents) && !(await confirmed(`${acting} ${who}?`))) {
        return;
      }
      answer = await api('POST', '/api/fleet/agents/bulk_unenroll', { agents, revoke: force });
    }
    state.selected.clear();
    for (const box of $('agents-table').querySelectorAll('input[type=checkbox]')) {
      box.checked = false;
    }
    result.replaceChildren(`Sent to ${who}. `, answer.actionId
      ? h('a', { href: `#action/${encodeURIComponent(answer.actionId)}` }, 'Follow its progress') : '');
    loadAgents();
  } catch (e) {
    result.textContent = e.message;
  }
}

// --- one agent ---

async function loadAgent(id) {
  const gen = state.gen;
  try {
    await policies();
    const [agent, actions, uploads] = await Promise.all([
      api('GET', `/api/fleet/agents/${encodeURIComponent(id)}`),
      api('GET', `/api/fleet/agents/${encodeURIComponent(id)}/actions`),
      api('GET', `/api/fleet/agents/${encodeURIComponent(id)}/uploads`)]);
    if (stale(gen)) {
      return;
    }
    const a = agent.item;
    $('agent-title').textContent = `Agent ${agentName(a)}`;
    if (state.tagsOf !== a.id) {
      // Filled once per agent: a refresh must not overwrite what is being typed.
      $('agent-tags').value = (a.tags ?? []).join(', ');
      state.tagsOf = a.id;
    }
    const policy = policyById(a.policy_id);
    const os = a.local_metadata?.os;
    const facts = [['Id', a.id], ['Status', badge(a.status)], ['Policy', policy ? h('a', { href: `#policy/${encodeURIComponent(a.policy_id)}` }, policy.name) : a.policy_id],
      ['Revision', revisionCell(a).childNodes], ['Version', a.agent?.version], ['Host', a.local_metadata?.host?.hostname],
      ['Operating system', os ? `${os.name ?? ''} ${os.version ?? ''}`.trim() : ''], ['Enrolled', when(a.enrolled_at)],
      ['Last checkin', when(a.last_checkin)], ['Last checkin status', a.last_checkin_status],
      ['Message', a.last_checkin_message], ['Tags', (a.tags ?? []).join(', ')]];
    if (a.upgrade_details) {
      facts.push(['Upgrade', `${a.upgrade_details.state ?? ''} ${a.upgrade_details.target_version ?? ''}`]);
    }
    $('agent-meta').replaceChildren(...facts.filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v instanceof NodeList ? [...v] : v))));
    const rows = [];
    for (const c of a.components ?? []) {
      rows.push(h('tr', {}, h('th', { scope: 'row' }, c.id), td(c.type ?? ''), td(badge((c.status ?? '').toLowerCase())), td(c.message ?? '')));
      for (const u of c.units ?? []) {
        rows.push(h('tr', { className: 'unit' }, h('th', { scope: 'row' }, `↳ ${u.id}`), td(u.type ?? ''),
          td(badge((u.status ?? '').toLowerCase())), td(u.message ?? '')));
      }
    }
    renderRows($('agent-components'), ...(rows.length ? rows : [h('tr', {}, td('No components reported yet.'))]));
    renderRows($('agent-uploads'), ...(uploads.items.length ? uploads.items.map((u) => h('tr', {},
      td(u.name), td(when(u.createTime)), td(badge((u.status || '').toLowerCase())),
      td(u.filePath && u.status === 'READY' ? h('a', { href: u.filePath, download: u.name, className: 'download' }, 'Download') : u.error ?? '')))
      : [h('tr', {}, td('No diagnostics requested.'))]));
    renderRows($('agent-actions'), ...(actions.items.length ? actions.items.map((x) => h('tr', {},
      td(x.type), td(when(x.creationTime)), td(badge(x.status.toLowerCase())),
      td(x.error ?? (x.data?.version ? `version ${x.data.version}` : x.data?.policy_id ? `to ${x.data.policy_id}` : ''))))
      : [h('tr', {}, td('No actions sent to this agent.'))]));
    $('agent-error').textContent = '';
  } catch (e) {
    $('agent-error').textContent = e.status === 404 ? `No agent ${id}.` : e.message;
  }
}

async function agentAction(kind) {
  const id = state.arg;
  const base = `/api/fleet/agents/${encodeURIComponent(id)}`;
  const result = $('agent-result');
  result.textContent = '';
  try {
    let answer;
    if (kind === 'upgrade') {
      answer = await api('POST', `${base}/upgrade`, upgradeBody($('agent-version').value.trim(), 0));
    } else if (kind === 'reassign') {
      answer = await api('POST', `${base}/reassign`, { policy_id: $('agent-policy').value });
    } else if (kind === 'diagnostics') {
      answer = await api('POST', `${base}/request_diagnostics`, {});
    } else {
      const force = kind === 'force-unenroll';
      if (!(await confirmed(`${force ? 'Force unenroll (revoke at once)' : 'Unenroll'} this agent?`))) {
        return;
      }
      answer = await api('POST', `${base}/unenroll`, force ? { revoke: true, force: true } : {});
    }
    result.textContent = answer && answer.actionId ? `Sent (action ${answer.actionId}).` : 'Done.';
    loadAgent(id);
  } catch (e) {
    result.textContent = e.message;
  }
}

async function saveTags(event) {
  event.preventDefault();
  const tags = $('agent-tags').value.split(',').map((t) => t.trim()).filter((t) => t);
  try {
    await api('PUT', `/api/fleet/agents/${encodeURIComponent(state.arg)}`, { tags });
    $('agent-result').textContent = 'Tags saved.';
    state.tagsOf = null;
    loadAgent(state.arg);
  } catch (e) {
    $('agent-result').textContent = e.message;
  }
}

// --- policies ---

async function loadPolicies() {
  try {
    const [list, summary] = await Promise.all([policies(true), api('GET', '/api/fleet/agents/summary')]);
    const counts = new Map(summary.by_policy.map((p) => [p.policy_id, p]));
    renderRows($('policies-table'), ...list.map((p) => {
      const c = counts.get(p.id) || { agents: 0, outdated: 0 };
      const current = c.agents - c.outdated;
      return h('tr', { dataset: { policyId: p.id } }, td(h('a', { href: `#policy/${encodeURIComponent(p.id)}` }, p.name)),
        td(h('code', {}, p.id)), td(String(p.revision)), td(String(c.agents)),
        td(h('progress', { max: String(Math.max(1, c.agents)), value: String(current), 'aria-label': `${current} of ${c.agents}` }),
          ` ${current} of ${c.agents}`), td(when(p.updated_at)));
    }));
    $('policies-error').textContent = '';
  } catch (e) {
    $('policies-error').textContent = e.message;
  }
}

/** The fields of a policy one edits (what the API computes is left out). */
function editable(item) {
  const copy = { ...item };
  for (const k of ['status', 'revision', 'updated_at', 'id']) {
    delete copy[k];
  }
  return copy;
}

function format() {
  return new FormData($('policy-form')).get('format');
}

async function loadPolicy(id, withEditor) {
  const gen = state.gen;
  try {
    const [rollout, revisions] = await Promise.all([
      api('GET', `/api/fleet/agent_policies/${encodeURIComponent(id)}/rollout`),
      api('GET', `/api/fleet/agent_policies/${encodeURIComponent(id)}/revisions`)]);
    if (stale(gen)) {
      return;
    }
    renderRollout(rollout);
    renderRows($('policy-revisions'), ...revisions.items.map((r) => h('tr', {},
      td(String(r.revision)), td(r.name), td(when(r.updated_at)),
      td(h('button', { type: 'button', onclick: () => showRevision(id, r.revision) }, `View revision ${r.revision}`)))));
    if (withEditor || state.editorLoaded !== id) {
      const policy = (await api('GET', `/api/fleet/agent_policies/${encodeURIComponent(id)}`)).item;
      if (stale(gen)) {
        return;
      }
      $('policy-title').textContent = `Policy ${policy.name}`;
      $('policy-editor').value = dump(editable(policy), format());
      state.editorText = $('policy-editor').value;
      state.editorLoaded = id;
    }
  } catch (e) {
    $('policy-editor-error').textContent = e.status === 404 ? `No policy ${id}.` : e.message;
  }
}

function renderRollout(r) {
  const p = $('rollout-progress');
  p.max = Math.max(1, r.agents);
  p.value = r.acked;
  const pct = r.agents ? Math.floor((100 * r.acked) / r.agents) : 100;
  $('rollout-text').textContent = `Revision ${r.revision}: ${r.acked} of ${r.agents} agents (${pct} %)`;
  $('rollout-text').dataset.percent = String(pct);
  $('rollout-revisions').textContent = Object.entries(r.by_revision).map(([rev, n]) => `revision ${rev}: ${n}`).join(' · ');
}

async function showRevision(id, revision) {
  const item = (await api('GET', `/api/fleet/agent_policies/${encodeURIComponent(id)}/revisions/${revision}`)).item;
  const view = $('revision-view');
  view.textContent = `# revision ${revision}\n${dump(editable(item), 'yaml')}`;
  view.hidden = false;
  view.focus();
}

/** Parses the editor's text for a JSON body, or leaves YAML for the server, which says where it fails. */
function bodyOf(text, fmt) {
  if (fmt === 'json') {
    try {
      return { body: JSON.parse(text), contentType: 'application/json' };
    } catch (e) {
      throw new Error(`invalid JSON: ${e.message}`);
    }
  }
  return { body: text, contentType: 'application/yaml' };
}

/** Shows an error beside the editor and selects the line it is about: a syntax error's line, or the field's key. */
function editorError(textarea, errorEl, message) {
  errorEl.textContent = message;
  textarea.setAttribute('aria-invalid', 'true');
  const lines = textarea.value.split('\n');
  let line = -1;
  const at = /line (\d+)/.exec(message);
  const field = /\[request body\.([^\]]+)\]/.exec(message);
  if (at) {
    line = Number(at[1]) - 1;
  } else if (field) {
    const key = field[1].split('.').pop();
    line = lines.findIndex((l) => new RegExp(`^\\s*("${key}"|${key})\\s*:`).test(l));
    errorEl.textContent = `${field[1]}: ${message.slice(field.index + field[0].length).replace(/^:\s*/, '')}`;
  }
  if (line >= 0 && line < lines.length) {
    const start = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0);
    textarea.focus();
    textarea.setSelectionRange(start, start + lines[line].length);
    const lineHeight = textarea.scrollHeight / Math.max(1, lines.length);
    textarea.scrollTop = Math.max(0, line * lineHeight - textarea.clientHeight / 2);
  }
}

async function savePolicy(event) {
  event.preventDefault();
  const textarea = $('policy-editor');
  const errorEl = $('policy-editor-error');
  errorEl.textContent = '';
  textarea.removeAttribute('aria-invalid');
  try {
    const { body, contentType } = bodyOf(textarea.value, format());
    const saved = await api('PUT', `/api/fleet/agent_policies/${encodeURIComponent(state.arg)}`, body, { contentType });
    notice(`Saved revision ${saved.item.revision}: agents receive it now.`);
    state.policies = null;
    await loadPolicy(state.arg, true);
  } catch (e) {
    editorError(textarea, errorEl, e.message);
  }
}

async function switchFormat() {
  const textarea = $('policy-editor');
  const to = format();
  const back = (f) => { document.querySelector(`input[name=format][value=${f}]`).checked = true; };
  if (to === 'yaml') {
    try {
      const unchanged = textarea.value === state.editorText;
      textarea.value = dump(JSON.parse(textarea.value), 'yaml');
      if (unchanged) {
        state.editorText = textarea.value;
      }
    } catch (e) {
      back('json');
      editorError(textarea, $('policy-editor-error'), `invalid JSON: ${e.message}`);
    }
    return;
  }
  // YAML is parsed by the server only: JSON shows the saved policy again.
  if (textarea.value !== state.editorText
      && !(await confirmed('JSON shows the saved policy: your unsaved YAML changes will be dropped.'))) {
    back('yaml');
    return;
  }
  state.editorLoaded = null;
  await loadPolicy(state.arg, true);
}

async function deletePolicy() {
  const id = state.arg;
  $('policy-delete-result').textContent = '';
  if (!(await confirmed(`Delete the policy ${id} and revoke its enrollment tokens? Only a policy no agent is assigned to can be deleted.`))) {
    return;
  }
  try {
    await api('POST', '/api/fleet/agent_policies/delete', { agentPolicyId: id });
    state.policies = null;
    state.nextNotice = `Policy ${id} deleted.`;
    location.hash = '#policies';
  } catch (e) {
    $('policy-delete-result').textContent = e.message;
  }
}

async function createPolicy(event) {
  event.preventDefault();
  const textarea = $('policy-new-editor');
  const text = textarea.value.trim();
  const json = text.startsWith('{');
  try {
    const { body, contentType } = bodyOf(text, json ? 'json' : 'yaml');
    const created = await api('POST', '/api/fleet/agent_policies', body, { contentType });
    state.policies = null;
    location.hash = `#policy/${encodeURIComponent(created.item.id)}`;
  } catch (e) {
    editorError(textarea, $('policy-new-error'), e.message);
  }
}

// --- YAML output (input is parsed by the server) ---

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*( [A-Za-z0-9_./-]+)*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

/** JSON-quoted, with the characters YAML does not take raw (C1 controls, line separators, non-characters) escaped. */
function quoted(v) {
  return JSON.stringify(v).replace(/[\u007f-\u009f\u2028\u2029\ufffe\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function scalar(v) {
  if (typeof v === 'string') {
    return PLAIN.test(v) && !RESERVED.test(v) ? v : quoted(v);
  }
  return v === null ? 'null' : String(v);
}

const isContainer = (v) => v !== null && typeof v === 'object';
const isEmpty = (v) => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

function inline(v) {
  if (isContainer(v)) {
    return Array.isArray(v) ? '[]' : '{}';
  }
  return scalar(v);
}

/** The value as block-style YAML; strings are plain when unambiguous and JSON-quoted (valid YAML) otherwise. */
function dump(value, fmt) {
  if (fmt === 'json') {
    return JSON.stringify(value, null, 2);
  }
  if (!isContainer(value) || isEmpty(value)) {
    return `${inline(value)}\n`;
  }
  const lines = [];
  const emit = (v, indent) => {
    const pad = ' '.repeat(indent);
    if (Array.isArray(v)) {
      for (const item of v) {
        if (isContainer(item) && !isEmpty(item)) {
          const first = lines.length;
          emit(item, indent + 2);
          lines[first] = `${pad}- ${lines[first].slice(indent + 2)}`;
        } else {
          lines.push(`${pad}- ${inline(item)}`);
        }
      }
      return;
    }
    for (const [k, val] of Object.entries(v)) {
      if (isContainer(val) && !isEmpty(val)) {
        lines.push(`${pad}${scalar(k)}:`);
        emit(val, indent + 2);
      } else {
        lines.push(`${pad}${scalar(k)}: ${inline(val)}`);
      }
    }
  };
  emit(value, 0);
  return `${lines.join('\n')}\n`;
}

// --- enrollment tokens ---

async function loadTokens() {
  try {
    await policies();
    const keys = await api('GET', '/api/fleet/enrollment_api_keys?perPage=100');
    renderRows($('tokens-table'), ...keys.items.map((k) => {
      const shown = h('code', { className: 'secret' }, '••••••••');
      const policy = policyById(k.policy_id);
      return h('tr', { dataset: { keyId: k.id } }, td(k.name ?? k.id), td(policy ? policy.name : k.policy_id), td(when(k.created_at)),
        td(shown, ' ',
          h('button', { type: 'button', onclick: (e) => {
            const hidden = shown.textContent.startsWith('•');
            shown.textContent = hidden ? k.api_key : '••••••••';
            e.target.textContent = hidden ? 'Hide' : 'Show';
          } }, 'Show'), ' ',
          h('button', { type: 'button', onclick: () => copy(k.api_key, 'Token copied.') }, 'Copy')),
        td(k.active ? 'active' : 'revoked'),
        td(k.active ? [h('button', { type: 'button', onclick: () => installCommand(k) }, 'Install command'), ' ',
          h('button', { type: 'button', className: 'danger', onclick: () => revokeToken(k) }, 'Revoke')] : ''));
    }));
    $('tokens-error').textContent = '';
  } catch (e) {
    $('tokens-error').textContent = e.message;
  }
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    notice(done);
  } catch (e) {
    notice('Copying is not allowed here: select the text and copy it.');
  }
}

async function installCommand(key) {
  const server = await api('GET', '/ui/api/server');
  const l = server.agent_listener;
  const url = `${l.scheme}://${l.host || location.hostname}:${l.port}`;
  const insecure = l.scheme === 'http' ? ' --insecure' : '';
  $('install-command').textContent = `sudo elastic-agent install --url=${url} --enrollment-token=${key.api_key}${insecure}`;
  $('install').hidden = false;
  $('install-command').focus();
}

async function revokeToken(key) {
  if (!(await confirmed(`Revoke the token "${key.name ?? key.id}"? Agents can no longer enroll with it.`))) {
    return;
  }
  try {
    await api('DELETE', `/api/fleet/enrollment_api_keys/${encodeURIComponent(key.id)}`);
    notice('Token revoked.');
    $('install').hidden = true;
    loadTokens();
  } catch (e) {
    $('tokens-error').textContent = e.message;
  }
}

async function createToken(event) {
  event.preventDefault();
  const body = { policy_id: $('token-policy').value };
  const name = $('token-name').value.trim();
  if (name) {
    body.name = name;
  }
  try {
    const created = await api('POST', '/api/fleet/enrollment_api_keys', body);
    $('token-name').value = '';
    notice('Token created.');
    await loadTokens();
    installCommand(created.item);
  } catch (e) {
    $('tokens-error').textContent = e.message;
  }
}

// --- actions ---

async function loadActions() {
  try {
    const list = await api('GET', '/api/fleet/agents/action_status?perPage=50');
    renderRows($('actions-table'), ...list.items.map((a) => {
      const done = a.nbAgentsAck + a.nbAgentsFailed;
      return h('tr', { dataset: { actionId: a.actionId } }, td(h('a', { href: `#action/${encodeURIComponent(a.actionId)}` }, a.type)),
        td(badge(a.status.toLowerCase())), td(when(a.creationTime)), td(String(a.nbAgentsActioned)),
        td(h('progress', { max: String(Math.max(1, a.nbAgentsActioned)), value: String(done), 'aria-label': `${done} of ${a.nbAgentsActioned}` })),
        td(String(a.nbAgentsAck)), td(String(a.nbAgentsFailed)));
    }));
    $('actions-error').textContent = '';
  } catch (e) {
    $('actions-error').textContent = e.message;
  }
}

async function loadAction(id) {
  const gen = state.gen;
  try {
    const r = await api('GET', `/api/fleet/actions/${encodeURIComponent(id)}/results`);
    if (stale(gen)) {
      return;
    }
    $('action-title').textContent = `Action ${r.type}`;
    $('action-summary').textContent = `${r.acked} acked, ${r.failed} failed, ${r.pending} pending of ${r.total} agents`;
    renderRows($('action-results'), ...r.items.map((i) => h('tr', {},
      td(h('a', { href: `#agent/${encodeURIComponent(i.agent_id)}` }, i.agent_id)), td(badge(i.status.toLowerCase())),
      td(when(i.completed_at)), td(i.error ?? ''))));
    $('action-error').textContent = '';
  } catch (e) {
    $('action-error').textContent = e.status === 404 ? `No action ${id}.` : e.message;
  }
}

// --- routing ---

const LOADERS = {
  overview: loadOverview,
  agents: loadAgents,
  agent: (arg) => loadAgent(arg),
  policies: loadPolicies,
  policy: (arg) => loadPolicy(arg, false),
  'policy-new': async () => {},
  tokens: loadTokens,
  actions: loadActions,
  action: (arg) => loadAction(arg),
};

async function route() {
  let session;
  try {
    session = await api('GET', '/ui/api/session');
  } catch (e) {
    showSignIn(e.message);
    return;
  }
  if (!session.signedIn) {
    showSignIn();
    return;
  }
  const [name, ...rest] = location.hash.replace(/^#/, '').split('/');
  const view = LOADERS[name] ? name : 'overview';
  const arg = rest.length ? decodeURIComponent(rest.join('/')) : null;
  if (view === 'agent' && state.arg !== arg) {
    state.tagsOf = null;
    $('agent-result').textContent = '';
  }
  if (view === 'policy' && state.arg !== arg) {
    state.editorLoaded = null;
    $('revision-view').hidden = true;
    $('policy-editor-error').textContent = '';
    $('policy-delete-result').textContent = '';
  }
  state.arg = arg;
  state.gen += 1;
  show(view);
  if (view === 'policy-new' && !$('policy-new-editor').value) {
    $('policy-new-editor').value = 'name: My policy\nnamespace: default\ndescription: ""\n';
  }
  await load(view, arg);
}

/** Reads the view shown again when due: never more often than 20 times the time its last reading took. */
async function refresh() {
  const every = REFRESH_MS[state.view];
  if (!every || state.loading || document.hidden || $('confirm').open
      || Date.now() - state.loadedAt < Math.max(every, 20 * state.loadMillis)) {
    return;
  }
  await load(state.view, state.arg);
}

async function load(view, arg) {
  state.loading = true;
  const started = Date.now();
  state.loadedAt = started;
  try {
    await LOADERS[view](arg);
  } finally {
    state.loadMillis = Date.now() - started;
    state.loading = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  $('agents-search').addEventListener('submit', (e) => {
    e.preventDefault();
    state.kuery = $('kuery').value.trim();
    state.page = 1;
    state.gen += 1;
    loadAgents();
  });
  $('previous-page').addEventListener('click', () => { state.page = Math.max(1, state.page - 1); state.gen += 1; loadAgents(); });
  $('next-page').addEventListener('click', () => { state.page += 1; state.gen += 1; loadAgents(); });
  $('select-page').addEventListener('change', (e) => {
    for (const box of $('agents-table').tBodies[0].querySelectorAll('input[type=checkbox]')) {
      box.checked = e.target.checked;
      const id = box.closest('tr').dataset.agentId;
      if (box.checked) {
        state.selected.add(id);
      } else {
        state.selected.delete(id);
      }
    }
  });
  $('bulk-action').addEventListener('change', (e) => {
    for (const span of $('bulk-form').querySelectorAll('[data-for]')) {
      span.hidden = span.dataset.for !== e.target.value;
    }
  });
  $('bulk-form').addEventListener('submit', bulkApply);
  $('agent-upgrade').addEventListener('click', () => agentAction('upgrade'));
  $('agent-reassign').addEventListener('click', () => agentAction('reassign'));
  $('agent-diagnostics').addEventListener('click', () => agentAction('diagnostics'));
  $('agent-unenroll').addEventListener('click', () => agentAction('unenroll'));
  $('agent-force-unenroll').addEventListener('click', () => agentAction('force-unenroll'));
  $('agent-tags-form').addEventListener('submit', saveTags);
  $('policy-form').addEventListener('submit', savePolicy);
  $('policy-delete').addEventListener('click', deletePolicy);
  for (const radio of document.querySelectorAll('input[name=format]')) {
    radio.addEventListener('change', switchFormat);
  }
  $('policy-new-form').addEventListener('submit', createPolicy);
  $('token-form').addEventListener('submit', createToken);
  $('copy-install').addEventListener('click', () => copy($('install-command').textContent, 'Install command copied.'));
  window.addEventListener('hashchange', route);
  route();
  // Live: the view shown follows the fleet without a reload (the editor's text is never overwritten).
  setInterval(refresh, 1000);
});
