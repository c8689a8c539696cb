// The dispatch board: log-in, then the live map beside the board of every vehicle's schedule
// state with the open deviation events, and the operations journal. Everything comes through
// the operator API; what the user's role may not do is not offered.
import './style.css';
import { api, query, ApiError } from './api.js';
import { h, fill } from './dom.js';
import { Fleet, byName } from './fleet.js';
import { LiveSocket, socketUrl } from './live.js';
import { LiveMap } from './map.js';
import { NoticesPanel } from './notices.js';
import { WaybillsView, mayReadReport } from './waybills.js';
import { PunctualityView } from './punctuality.js';
import { VehiclePanel } from './vehicle.js';
import { MessagesPanel } from './messages.js';
import { headways } from './headway.js';
import {
  STATES, STATE_LABELS, STATE_COLOURS, eventLabel,
  formatDeviation, describeDeviation, localInputValue, formatDuration, formatClock, formatDateTime, formatAge, formatSpeed, errorText,
} from './format.js';

const app = document.getElementById('app');
const may = {
  acknowledge: (role) => role === 'admin' || role === 'dispatcher',
  note: (role) => role === 'admin' || role === 'dispatcher',
};

const MAX_ROWS = 300;

/** Runs `f`, adding its duration to the benchmark's probe when there is one. */
function timed(name, f) {
  const probe = window.fleetProbe;
  if (!probe) return f();
  const start = performance.now();
  try {
    return f();
  } finally {
    (probe.timings[name] ||= []).push(performance.now() - start);
  }
}

let session = null; // {ui, user}
let socket = null;

// ---- log-in ------------------------------------------------------------------------------

function showLogin(message) {
  if (socket) socket.stop();
  socket = null;
  const name = h('input', { name: 'name', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' }, message || '');
  const form = h('form', { class: 'login', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      await api('POST', '/api/session', { name: name.value, password: password.value });
      await start();
    } catch (err) {
      error.textContent = err.status === 401 ? 'Name or password does not match.' : errorText(err);
    }
  } },
  h('h1', {}, 'Fleet dispatch'),
  h('label', {}, 'Name', name),
  h('label', {}, 'Password', password),
  h('button', { type: 'submit' }, 'Log in'),
  error);
  fill(app, h('main', { class: 'login-page' }, form));
  name.focus();
}

async function logout() {
  try {
    await api('DELETE', '/api/session');
  } catch {
    // the session may have ended already
  }
  showLogin('Logged out.');
}

// ---- the shell ---------------------------------------------------------------------------

async function start() {
  let ui;
  try {
    ui = await api('GET', '/api/ui');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin();
    return showLogin(errorText(err));
  }
  session = { ui, user: ui.user };
  const status = h('span', { class: 'status', 'data-status': 'connecting' }, 'connecting');
  const tabs = [
    ['board', 'Board'],
    ['notices', 'Notices'],
    ['messages', 'Messages'],
    ...(mayReadReport(session.user.role) ? [['waybills', 'Waybills']] : []),
    ['punctuality', 'Punctuality'],
    ['journal', 'Journal'],
  ];
  const nav = h('nav', {}, tabs.map(([id, label]) => h('a', { href: '#' + id, 'data-tab': id }, label)));
  const view = h('div', { class: 'view' });
  fill(app,
    h('header', {},
      h('strong', { class: 'brand' }, 'Fleet dispatch'),
      nav,
      h('span', { class: 'spacer' }),
      status,
      h('span', { class: 'user' }, `${session.user.name} · ${session.user.role}` +
        (session.user.limited_to_groups ? ' (own groups)' : '')),
      h('button', { class: 'link', onclick: logout }, 'Log out')),
    view);
  const board = new BoardView(session, status);
  window.fleetBoard = board; // for a look from the browser's console (and the browser tests)
  const journal = new JournalView(session, board.fleet);
  const notices = new NoticesPanel(session, board.map);
  const waybills = new WaybillsView();
  const vehicle = new VehiclePanel(board.map);
  const punctuality = new PunctualityView();
  window.fleetPunctuality = punctuality;
  const messages = new MessagesPanel(session, board.fleet);
  board.onDeliveries = (changes) => {
    notices.onDeliveries(changes);
    messages.onDeliveries(changes);
  };
  const route = () => {
    const tab = (location.hash || '#board').slice(1);
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.tab === (tab.startsWith('vehicle/') ? 'board' : tab));
    if (tab === 'waybills' && mayReadReport(session.user.role)) {
      fill(view, waybills.element);
      if (!waybills.header) waybills.load();
      return;
    }
    if (tab === 'punctuality') {
      fill(view, punctuality.element);
      punctuality.load();
      return;
    }
    if (tab === 'journal') {
      fill(view, journal.element);
      journal.load();
      return;
    }
    fill(view, board.element);
    if (!tab.startsWith('vehicle/')) vehicle.hide();
    if (tab.startsWith('vehicle/')) {
      const id = Number(tab.slice('vehicle/'.length));
      const v = board.fleet.vehicles.get(id);
      board.showPanel(vehicle.element);
      vehicle.show(id, v ? v.registration : null);
    } else if (tab === 'messages') {
      board.showPanel(messages.element);
      messages.load();
    } else if (tab === 'notices') {
      board.showPanel(notices.element);
      notices.load();
    } else {
      board.map.stopDrawing();
      board.showPanel(board.boardPanel);
    }
    board.map.invalidate();
  };
  window.onhashchange = route;
  route();
  await board.start();
}

// ---- the board ---------------------------------------------------------------------------

class BoardView {
  constructor(session, status) {
    this.session = session;
    this.status = status;
    this.fleet = new Fleet();
    this.filter = { route: '', group: '', state: '', text: '' };
    this.sort = { key: 'state', descending: false };
    this.selected = null;
    this.events = [];
    this.rowCache = new Map();
    this.headways = new Map();
    const mapElement = h('div', { class: 'map', id: 'map' });
    this.summary = h('div', { class: 'summary' });
    this.routeSelect = h('select', { 'aria-label': 'route', onchange: (e) => this.setFilter('route', e.target.value) });
    this.groupSelect = h('select', { 'aria-label': 'group', onchange: (e) => this.setFilter('group', e.target.value) });
    const stateSelect = h('select', { 'aria-label': 'state', onchange: (e) => this.setFilter('state', e.target.value) },
      h('option', { value: '' }, 'every state'),
      h('option', { value: 'problems' }, 'needs attention'),
      STATES.map((s) => h('option', { value: s }, STATE_LABELS[s])));
    const search = h('input', { type: 'search', placeholder: 'vehicle', 'aria-label': 'vehicle',
      oninput: (e) => this.setFilter('text', e.target.value) });
    this.table = h('tbody');
    const header = (key, label, cls) => h('th', { class: cls, 'data-sort': key, onclick: () => this.setSort(key) }, label);
    this.detail = h('section', { class: 'detail' });
    this.eventList = h('ul', { class: 'events' });
    this.boardPanel = h('aside', { class: 'panel' },
        this.summary,
        h('div', { class: 'filters' }, this.routeSelect, this.groupSelect, stateSelect, search),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'board' },
            h('thead', {}, h('tr', {},
              header('registration', 'Vehicle'), header('route', 'Route'), header('state', 'State'),
              header('deviation', 'Deviation', 'num'), h('th', { title: 'to the vehicle ahead on frequent routes' }, 'Headway'),
              header('events', 'Events'), header('seen', 'Last fix'))),
            this.table)),
        this.detail,
        h('h2', {}, 'Open deviations'),
        this.eventList);
    this.element = h('div', { class: 'board-view' }, mapElement, this.boardPanel);
    this.map = new LiveMap(mapElement, session.ui, { onSelect: (id) => this.select(id) });
    this.map.onDraw = () => {
      const probe = window.fleetProbe;
      if (!probe || !probe.pending.length) return;
      const now = Date.now();
      for (const committed of probe.pending) probe.latencies.push(now - committed);
      probe.pending = [];
    };
    this.legend(mapElement);
  }

  /** The panel beside the map: the board's, or another view's (the notices). */
  showPanel(panel) {
    if (this.element.lastChild !== panel) this.element.replaceChild(panel, this.element.lastChild);
  }

  legend(mapElement) {
    mapElement.append(h('div', { class: 'legend' },
      STATES.map((s) => h('span', {}, h('i', { style: { background: STATE_COLOURS[s] } }), STATE_LABELS[s]))));
  }

  async start() {
    try {
      const [routes, stops, zones] = await Promise.all(
        ['routes', 'stops', 'zones'].map((l) => api('GET', '/api/map/' + l).catch(() => null)));
      this.map.setReference({ routes, stops, zones });
    } catch {
      // the map works without its reference layers
    }
    await this.resync();
    this.socket = new LiveSocket({
      url: socketUrl(location),
      subscription: { positions: true, events: true, assignments: true, notices: true },
      onOpen: () => this.resync(),
      onFrame: (frame) => this.onFrame(frame),
      onStatus: (s) => {
        this.status.dataset.status = s;
        this.status.textContent = s;
      },
    });
    socket = this.socket;
    this.socket.start();
    // The schedule deviation of each vehicle is the engine's, read with the snapshot; refreshed
    // while the stream brings the positions.
    this.refresh = setInterval(() => { if (document.visibilityState !== 'hidden') this.resync(); }, 10000);
    this.clock = setInterval(() => this.render(), 5000);
  }

  async resync() {
    try {
      const [snapshot, events, eta] = await Promise.all([
        this.loadVehicles(),
        api('GET', '/api/events' + query({ state: 'open', limit: 200 })),
        api('GET', '/api/eta').catch(() => ({ runs: [] })),
      ]);
      timed('load', () => this.fleet.load(snapshot));
      this.headways = headways(eta.runs);
      this.events = events.events || [];
      this.render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) showLogin('The session has ended; log in again.');
    }
  }

  async loadVehicles() {
    const all = { vehicles: [] };
    let after;
    for (;;) {
      const page = await api('GET', '/api/vehicles' + query({ limit: 1000, after }));
      all.vehicles.push(...page.vehicles);
      all.on_time_window_s = page.on_time_window_s;
      if (!page.next_after) return all;
      after = page.next_after;
    }
  }

  onFrame(frame) {
    timed('frame', () => this.handleFrame(frame));
  }

  handleFrame(frame) {
    const change = this.fleet.apply(frame);
    // A probe set by the benchmark (tools/bench/dashboard): when each committed fix is drawn.
    const probe = window.fleetProbe;
    if (probe) {
      for (const p of frame.positions || []) if (change.moved.has(p.vehicle_id)) probe.pending.push(p.committed_ms);
    }
    if (change.moved.size || change.judged.size) this.drawVehicles();
    if (change.events.length) {
      // Event ids (for acknowledging) are the store's: read the open events again, soon.
      clearTimeout(this.eventsTimer);
      this.eventsTimer = setTimeout(() => this.reloadEvents(), 300);
    }
    if (change.assignments) this.resync();
    if (frame.deliveries && frame.deliveries.length && this.onDeliveries) this.onDeliveries(frame.deliveries);
    this.renderSoon();
  }

  async reloadEvents() {
    try {
      this.events = (await api('GET', '/api/events' + query({ state: 'open', limit: 200 }))).events || [];
      this.renderEvents();
    } catch {
      // kept until the next resync
    }
  }

  renderSoon() {
    if (this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.render();
    }, 1000);
  }

  setFilter(key, value) {
    this.filter[key] = value;
    this.render();
  }

  setSort(key) {
    this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : key === 'deviation' };
    this.render();
  }

  select(id) {
    this.selected = id;
    this.map.select(id);
    this.render();
  }

  drawVehicles() {
    const list = [];
    for (const v of this.fleet.vehicles.values()) {
      if (!v.position) continue;
      list.push({
        id: v.id, lat: v.position.lat, lon: v.position.lon, course: v.position.course_deg,
        speed: v.position.speed_kmh, state: v.adherence, label: v.registration, time: v.position.time,
      });
    }
    this.map.setVehicles(list);
  }

  render() {
    timed('render', () => this.renderBoard());
  }

  renderBoard() {
    this.drawVehicles();
    const counts = this.fleet.counts();
    fill(this.summary, STATES.filter((s) => counts[s]).map((s) =>
      h('button', { class: 'count', 'data-state': s, onclick: () => this.setFilter('state', this.filter.state === s ? '' : s) },
        h('i', { style: { background: STATE_COLOURS[s] } }), `${counts[s]} ${STATE_LABELS[s]}`)));
    this.options(this.routeSelect, 'every route', this.fleet.routes(), this.filter.route);
    this.options(this.groupSelect, 'every group', this.fleet.groups().map((g) => [g, g]), this.filter.group);
    const all = this.fleet.rows(this.filter, this.sort);
    // The worst first, at most MAX_ROWS of them: a board of thousands of rows helps no one and
    // costs a frame at every update; the filters narrow it.
    const rows = all.slice(0, MAX_ROWS);
    const now = Date.now();
    // Rows are kept per vehicle and rebuilt only when what they show changed; the age of the
    // last fix is updated in place. A board of hundreds of rows stays a small part of a frame.
    const kept = new Map();
    const trs = rows.map((r) => {
      const hw = this.headways.get(r.id);
      const sig = [r.registration, r.route, r.trip, r.state, r.deviation_s, r.stale, r.id === this.selected,
        hw ? `${Math.round(hw.headway_s / 30)}/${hw.state}` : '',
        r.events.map((e) => e.kind + (e.cause || '')).join('|')].join('\u0001');
      let row = this.rowCache.get(r.id);
      if (!row || row.sig !== sig) {
        const age = h('td', {});
        row = { sig, age, tr: h('tr', {
          'data-vehicle': r.id, 'data-state': r.state,
          class: (r.id === this.selected ? 'selected ' : '') + (r.stale ? 'stale' : ''),
          onclick: () => this.select(r.id),
        },
        h('td', { title: r.registration }, r.registration),
        h('td', {}, r.route, r.trip ? h('small', {}, ' ' + r.trip) : null),
        h('td', {}, h('span', { class: 'badge', style: { background: STATE_COLOURS[r.state] } }, STATE_LABELS[r.state])),
        h('td', { class: 'num', title: describeDeviation(r.deviation_s, this.fleet.window) }, formatDeviation(r.deviation_s)),
        h('td', { class: 'headway', title: hw ? `behind ${hw.ahead_registration}: ${formatDuration(hw.headway_s)} predicted, ${formatDuration(hw.scheduled_s)} in the timetable` : null },
          hw ? formatDuration(hw.headway_s) : '', hw && hw.state !== 'regular' ? h('span', { class: `headway-flag ${hw.state}` }, hw.state) : null),
        h('td', {}, r.events.map((e) => h('span', { class: 'event-kind', title: e.cause || '' }, eventLabel(e.kind)))),
        age) };
      }
      const text = r.seen ? formatAge(new Date(r.seen).toISOString(), now) : '—';
      if (row.age.textContent !== text) row.age.textContent = text;
      kept.set(r.id, row);
      return row.tr;
    });
    this.rowCache = kept;
    this.table.replaceChildren(...trs);
    if (all.length > rows.length) {
      this.table.append(h('tr', {}, h('td', { colspan: 7, class: 'empty' },
        `${all.length - rows.length} more vehicles: narrow the filter to see them.`)));
    }
    if (!rows.length) {
      this.table.append(h('tr', {}, h('td', { colspan: 7, class: 'empty' },
        this.fleet.vehicles.size ? 'No vehicle matches the filter.' : 'No vehicles yet.')));
    }
    for (const th of this.element.querySelectorAll('th[data-sort]')) {
      th.dataset.sorted = th.dataset.sort === this.sort.key ? (this.sort.descending ? 'desc' : 'asc') : '';
    }
    this.renderDetail();
    this.renderEvents();
  }

  options(select, all, entries, value) {
    const key = JSON.stringify(entries);
    if (select.dataset.key === key) return;
    select.dataset.key = key;
    fill(select, h('option', { value: '' }, all), entries.map(([v, label]) => h('option', { value: v }, label)));
    select.value = value;
  }

  renderDetail() {
    const v = this.fleet.vehicles.get(this.selected);
    if (!v) {
      fill(this.detail);
      return;
    }
    const d = v.dispatch;
    const p = v.position;
    fill(this.detail,
      h('h2', {}, v.registration, h('small', {}, ' ' + (v.class || ''))),
      h('dl', {},
        h('dt', {}, 'State'), h('dd', {}, STATE_LABELS[v.adherence] || v.adherence),
        h('dt', {}, 'Route'), h('dd', {}, d ? `${d.route_short_name || d.route_code} · trip ${d.trip_code || '—'} · block ${d.block || '—'}` : '—'),
        h('dt', {}, 'Deviation'), h('dd', {}, d ? `${formatDeviation(d.deviation_s)} (${describeDeviation(d.deviation_s, this.fleet.window)})` : '—'),
        h('dt', {}, 'Last fix'), h('dd', {}, p ? `${formatClock(p.time)} · ${formatSpeed(p.speed_kmh)}` : 'none'),
        h('dt', {}, 'Groups'), h('dd', {}, (v.groups || []).join(', ') || '—')),
      h('a', { href: `#vehicle/${v.id}`, class: 'button' }, 'Track and speed'));
  }

  renderEvents() {
    const canAck = may.acknowledge(this.session.user.role);
    const open = this.events.filter((e) => e.open !== false);
    fill(this.eventList, open.length ? open.map((e) => h('li', { 'data-event': e.id, class: e.acknowledgement ? 'acknowledged' : '' },
      h('span', { class: 'event-kind' }, eventLabel(e.kind)),
      h('strong', {}, e.registration),
      h('span', {}, ' since ' + formatClock(e.started_at)),
      e.cause ? h('span', { class: 'cause' }, ' · ' + e.cause) : null,
      e.acknowledgement
        ? h('span', { class: 'ack' }, ` · acknowledged by ${e.acknowledgement.by}: ${e.acknowledgement.comment}`)
        : canAck ? h('button', { class: 'small', onclick: () => this.acknowledge(e) }, 'Acknowledge') : null))
      : h('li', { class: 'empty' }, 'No open deviations.'));
  }

  async acknowledge(event) {
    const comment = window.prompt(`Acknowledge "${eventLabel(event.kind)}" of ${event.registration}: comment`);
    if (comment === null) return;
    try {
      await api('POST', `/api/events/${event.id}/acknowledge`, { comment });
      await this.reloadEvents();
    } catch (err) {
      window.alert(errorText(err));
    }
  }
}

// ---- the journal -------------------------------------------------------------------------

class JournalView {
  constructor(session, fleet) {
    this.session = session;
    this.fleet = fleet;
    const today = new Date();
    today.setHours(0, 0, 0, 0);
    this.from = h('input', { type: 'datetime-local', value: localInputValue(today), 'aria-label': 'from' });
    const tomorrow = new Date(today.getTime() + 86400000);
    this.to = h('input', { type: 'datetime-local', value: localInputValue(tomorrow), 'aria-label': 'to' });
    this.kind = h('input', { placeholder: 'kind', size: 12, 'aria-label': 'kind' });
    this.rows = h('tbody');
    this.error = h('p', { class: 'error', role: 'alert' });
    const note = h('textarea', { rows: 2, maxlength: 4000, placeholder: 'A note for the journal', 'aria-label': 'note' });
    const counterpart = h('input', { placeholder: 'counterpart (optional)', maxlength: 400, 'aria-label': 'counterpart' });
    // A dispatcher limited to groups notes on one of their vehicles (the API requires it).
    this.vehicle = h('select', { 'aria-label': 'journal vehicle', title: 'the vehicle the journal is narrowed to, and a note is about', onchange: () => this.load() });
    const add = may.note(session.user.role) ? h('form', { class: 'note', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('POST', '/api/journal', {
          text: note.value,
          ...(counterpart.value ? { counterpart: counterpart.value } : {}),
          ...(this.vehicle.value ? { vehicle: Number(this.vehicle.value) } : {}),
        });
        note.value = '';
        counterpart.value = '';
        this.load();
      } catch (err) {
        this.error.textContent = errorText(err);
      }
    } }, note, counterpart, h('button', { type: 'submit' }, 'Add note (about the vehicle chosen)')) : null;
    this.element = h('div', { class: 'journal-view' },
      h('div', { class: 'filters' }, this.from, this.to, this.kind, this.vehicle, h('button', { onclick: () => this.load() }, 'Show')),
      add, this.error,
      h('table', { class: 'journal' },
        h('thead', {}, h('tr', {}, ['Time', 'Kind', 'Who', 'What', 'Subject'].map((t) => h('th', {}, t)))),
        this.rows));
  }

  async load() {
    this.error.textContent = '';
    const chosen = this.vehicle.value;
    const vehicles = [...this.fleet.vehicles.values()].sort((a, b) =>
      byName(a.registration, b.registration));
    fill(this.vehicle,
      this.session.user.limited_to_groups ? null : h('option', { value: '' }, 'every vehicle'),
      vehicles.map((v) => h('option', { value: v.id }, v.registration)));
    if (chosen) this.vehicle.value = chosen;
    try {
      const answer = await api('GET', '/api/journal' + query({
        // The API wants both ends: an empty one is a day before or after the other.
        from: new Date(this.from.value ? this.from.value : Date.now() - 86400000).toISOString(),
        to: new Date(this.to.value ? this.to.value : Date.now() + 3600000).toISOString(),
        kind: this.kind.value.trim(),
        // The vehicle chosen narrows the journal to it (a dispatcher limited to groups reads the
        // journal of one of their vehicles at a time).
        vehicle: this.vehicle.value || undefined,
        limit: 500,
      }));
      const entries = answer.entries || answer.journal || [];
      fill(this.rows, entries.map((e) => h('tr', {},
        h('td', {}, formatDateTime(e.recorded_at)), h('td', {}, e.kind), h('td', {}, e.actor),
        h('td', {}, e.action, e.details && e.details.text ? h('div', { class: 'note-text' }, e.details.text) : null),
        h('td', {}, e.registration || e.subject || ''))));
      if (!entries.length) this.rows.append(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'Nothing in this period.')));
    } catch (err) {
      this.error.textContent = errorText(err);
    }
  }
}


start();
