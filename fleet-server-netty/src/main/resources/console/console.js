'use strict';
// The Fleet Server console: signs in with the management token (exchanged for an HttpOnly session cookie; the
// token itself is never stored) and reads the management API with that cookie.

const PAGE_SIZE = 50;
const STATUSES = ['online', 'error', 'offline', 'updating', 'inactive', 'unenrolled', 'uninstalled', 'orphaned', 'other'];
let page = 1;
let total = 0;

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (res.status === 401 && path !== '/ui/api/session') {
    show('sign-in');
    $('sign-in-error').textContent = 'Your session has ended: sign in again.';
  }
  if (!res.ok) {
    const message = json && json.message ? json.message : (text || res.statusText);
    const retry = res.headers.get('Retry-After');
    throw new Error(retry ? `${message} (retry in ${retry} s)` : message);
  }
  return json;
}

function show(view) {
  const signedIn = view !== 'sign-in';
  $('nav').hidden = !signedIn;
  for (const id of ['sign-in', 'overview', 'agents']) {
    $(id).hidden = signedIn ? !(id === 'overview' || id === view) : id !== 'sign-in';
  }
  if (!signedIn) {
    $('token').focus();
  }
}

async function signIn(event) {
  event.preventDefault();
  $('sign-in-error').textContent = '';
  const field = $('token');
  try {
    await api('POST', '/ui/api/session', { token: field.value });
    field.value = '';
    route();
  } catch (e) {
    $('sign-in-error').textContent = e.message;
  }
}

async function signOut() {
  await api('DELETE', '/ui/api/session');
  show('sign-in');
}

async function loadOverview() {
  try {
    const status = (await api('GET', '/api/fleet/agent_status')).results;
    const counts = $('status-counts');
    counts.replaceChildren(...['total', ...STATUSES].map((s) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = s;
      dd.textContent = status[s] ?? 0;
      dd.id = `count-${s}`;
      div.append(dt, dd);
      return div;
    }));
    $('overview-error').textContent = '';
  } catch (e) {
    $('overview-error').textContent = e.message;
  }
}

function cell(text, className) {
  const td = document.createElement('td');
  if (className) {
    const span = document.createElement('span');
    span.className = `badge ${className}`;
    span.textContent = text;
    td.append(span);
  } else {
    td.textContent = text ?? '';
  }
  return td;
}

async function loadAgents() {
  const kuery = $('kuery').value.trim();
  const query = new URLSearchParams({ page: String(page), perPage: String(PAGE_SIZE) });
  if (kuery) {
    query.set('kuery', kuery);
  }
  try {
    const list = await api('GET', `/api/fleet/agents?${query}`);
    total = list.total;
    $('agents-table').tBodies[0].replaceChildren(...list.items.map((a) => {
      const tr = document.createElement('tr');
      tr.append(cell(a.local_metadata?.host?.hostname ?? a.id), cell(a.status, a.status), cell(a.policy_id),
        cell(a.policy_revision ?? ''), cell(a.agent?.version ?? ''), cell(a.last_checkin ?? ''),
        cell((a.tags ?? []).join(', ')));
      tr.dataset.agentId = a.id;
      return tr;
    }));
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    $('page-label').textContent = `Page ${page} of ${pages} (${total} agents)`;
    $('previous-page').disabled = page <= 1;
    $('next-page').disabled = page >= pages;
    $('agents-error').textContent = '';
  } catch (e) {
    $('agents-error').textContent = e.message;
  }
}

async function route() {
  const session = await api('GET', '/ui/api/session');
  if (!session.signedIn) {
    show('sign-in');
    return;
  }
  const view = location.hash === '#agents' ? 'agents' : 'overview';
  show(view);
  await loadOverview();
  if (view === 'agents') {
    await loadAgents();
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  $('agents-search').addEventListener('submit', (e) => { e.preventDefault(); page = 1; loadAgents(); });
  $('previous-page').addEventListener('click', () => { page = Math.max(1, page - 1); loadAgents(); });
  $('next-page').addEventListener('click', () => { page += 1; loadAgents(); });
  window.addEventListener('hashchange', route);
  route();
  // Live: the overview and the page of agents follow the fleet without a reload.
  setInterval(() => {
    if (!$('overview').hidden) {
      loadOverview();
    }
    if (!$('agents').hidden) {
      loadAgents();
    }
  }, 5000);
});
