// Road and weather notices on the board's map: the notices in force with their areas, a new one
// drawn on the map (a polygon, or a road section with a buffer) or read from a GeoJSON file, and
// each notice's deliveries to the drivers it concerns, updated live from the stream.
import { api, query } from './api.js';
import { h, fill } from './dom.js';
import { formatClock, formatDateTime, errorText, localInputValue } from './format.js';
import { geometryOfGeoJSON, shortTextProblem } from './notice_form.js';

export const CATEGORIES = ['closure', 'road_works', 'accident', 'congestion', 'ice', 'snow', 'fog', 'storm', 'flooding', 'other'];
const SEVERITIES = [[1, 'info'], [2, 'warning'], [3, 'danger']];
const STATE_ORDER = ['queued', 'sent', 'delivered', 'read', 'failed', 'expired', 'withdrawn'];

export class NoticesPanel {
  constructor(session, map) {
    this.session = session;
    this.map = map;
    this.notices = [];
    this.selected = null;
    this.geometry = null;
    this.mayEdit = session.user.role === 'admin' || session.user.role === 'dispatcher';
    this.list = h('ul', { class: 'notices' });
    this.detail = h('section', { class: 'notice-detail' });
    this.form = this.mayEdit ? this.makeForm() : null;
    this.element = h('aside', { class: 'panel notices-panel' },
      h('h2', {}, 'Notices in force'), this.list, this.detail,
      this.form ? h('h2', {}, 'New notice') : null, this.form);
  }

  makeForm() {
    const category = h('select', { name: 'category', 'aria-label': 'category' },
      CATEGORIES.map((c) => h('option', { value: c }, c.replace('_', ' '))));
    const severity = h('select', { name: 'severity', 'aria-label': 'severity' },
      SEVERITIES.map(([v, label]) => h('option', { value: v, selected: v === 2 }, label)));
    const title = h('input', { name: 'title', maxlength: 60, required: true, placeholder: 'Title (at most 60)' });
    const count = h('small', { class: 'counter' }, '0 / 160');
    const shortText = h('input', { name: 'short_text', maxlength: 160, required: true,
      placeholder: 'What the terminal shows (at most 160; Teltonika and GT06 get it in Latin letters)',
      oninput: () => { count.textContent = `${shortText.value.length} / 160`; } });
    const text = h('textarea', { name: 'text', rows: 2, maxlength: 8000, placeholder: 'Full text (optional)' });
    const until = h('input', { name: 'valid_until', type: 'datetime-local', required: true,
      value: localInputValue(new Date(Date.now() + 2 * 3600 * 1000)), 'aria-label': 'valid until' });
    const buffer = h('input', { name: 'buffer_m', type: 'number', min: 1, max: 5000, value: 50, size: 5, 'aria-label': 'buffer (m)' });
    const areaState = h('span', { class: 'area-state' }, 'no area yet');
    const file = h('input', { type: 'file', accept: '.geojson,.json,application/geo+json,application/json',
      'aria-label': 'area file', onchange: async () => {
        const f = file.files[0];
        if (!f) return;
        try {
          this.map.stopDrawing();
          this.geometry = geometryOfGeoJSON(JSON.parse(await f.text()));
          areaState.textContent = `${this.geometry.type} from ${f.name}`;
          this.map.setAreas([...this.areas(), { geometry: this.geometry, colour: '#d84315', selected: true, fit: true }]);
        } catch (e) {
          this.geometry = null;
          areaState.textContent = `${f.name}: ${e.message}`;
        }
      } });
    const draw = (kind) => () => {
      this.geometry = null;
      this.map.startDrawing(kind, (g) => {
        this.geometry = g;
        areaState.textContent = g ? `${g.type} of ${kind === 'line' ? g.coordinates.length : g.coordinates[0].length - 1} points`
          : `click on the map: ${kind === 'line' ? 'two points or more' : 'three points or more'}`;
      });
    };
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'notice-form', onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const problem = shortTextProblem(shortText.value);
      if (problem) {
        error.textContent = problem;
        return;
      }
      if (!this.geometry) {
        error.textContent = 'Draw the area on the map, or read it from a file.';
        return;
      }
      const body = {
        category: category.value, severity: Number(severity.value), title: title.value,
        short_text: shortText.value, valid_until: new Date(until.value).toISOString(), area: this.geometry,
      };
      if (text.value) body.text = text.value;
      if (this.geometry.type.includes('LineString')) body.buffer_m = Number(buffer.value);
      try {
        const made = await api('POST', '/api/notices', body);
        this.map.stopDrawing();
        this.geometry = null;
        areaState.textContent = 'no area yet';
        form.reset();
        count.textContent = '0 / 160';
        until.value = localInputValue(new Date(Date.now() + 2 * 3600 * 1000));
        await this.load();
        this.select(made.notice.id);
      } catch (err) {
        error.textContent = errorText(err);
      }
    } },
    h('div', { class: 'row' }, category, severity, until),
    title,
    h('div', { class: 'row' }, shortText, count),
    text,
    h('div', { class: 'row' },
      h('button', { type: 'button', onclick: draw('polygon') }, 'Draw area'),
      h('button', { type: 'button', onclick: draw('line') }, 'Draw road section'),
      h('label', {}, 'buffer ', buffer, ' m'),
      file),
    h('div', { class: 'row' }, areaState, h('span', { class: 'spacer' }),
      h('button', { type: 'submit' }, 'Send notice')),
    error);
    return form;
  }

  areas() {
    return this.notices.map((n) => ({ geometry: n.area, colour: n.severity === 3 ? '#c62828' : '#ef6c00', selected: n.id === this.selected }));
  }

  async load() {
    try {
      this.notices = (await api('GET', '/api/notices' + query({ limit: 200 }))).notices || [];
    } catch (err) {
      fill(this.list, h('li', { class: 'error' }, errorText(err)));
      return;
    }
    this.renderList();
    this.map.setAreas(this.areas());
    if (this.selected) this.loadDeliveries();
  }

  renderList() {
    fill(this.list, this.notices.length ? this.notices.map((n) => h('li', {
      'data-notice': n.id, class: n.id === this.selected ? 'selected' : '', onclick: () => this.select(n.id),
    },
    h('span', { class: `severity s${n.severity}` }, SEVERITIES[n.severity - 1][1]),
    h('strong', {}, n.title),
    h('small', {}, ` ${n.category.replace('_', ' ')} · until ${formatDateTime(n.valid_until)}`),
    h('span', { class: 'counts' }, STATE_ORDER.filter((s) => n.deliveries && n.deliveries[s])
      .map((s) => `${n.deliveries[s]} ${s}`).join(', '))))
      : h('li', { class: 'empty' }, 'No notice in force.'));
  }

  async select(id) {
    this.selected = id;
    this.renderList();
    const n = this.notices.find((x) => x.id === id);
    this.map.setAreas([...this.areas().map((a) => ({ ...a, fit: a.selected }))]);
    if (!n) return;
    await this.loadDeliveries();
  }

  async loadDeliveries() {
    const n = this.notices.find((x) => x.id === this.selected);
    if (!n) return fill(this.detail);
    let deliveries = [];
    try {
      deliveries = (await api('GET', `/api/notices/${n.id}/deliveries`)).deliveries || [];
    } catch (err) {
      return fill(this.detail, h('p', { class: 'error' }, errorText(err)));
    }
    fill(this.detail,
      h('h3', {}, n.title, h('small', {}, ` by ${n.created_by}, ${formatClock(n.created_at)}`)),
      h('p', { class: 'short-text' }, n.short_text),
      h('table', { class: 'deliveries' },
        h('thead', {}, h('tr', {}, ['Driver', 'Vehicle', 'Found by', 'State', 'Sent', 'Delivered', 'Read'].map((t) => h('th', {}, t)))),
        h('tbody', {}, deliveries.length ? deliveries.map((d) => h('tr', { 'data-driver': d.driver, 'data-state': d.state },
          h('td', {}, d.driver), h('td', {}, d.vehicle || '—'), h('td', {}, d.rule),
          h('td', {}, h('span', { class: `delivery ${d.state}` }, d.state + (d.withdrawal_state ? ` (withdrawal ${d.withdrawal_state})` : '')),
            d.failure ? h('small', {}, ' ' + d.failure) : null),
          h('td', {}, formatClock(d.sent_at)), h('td', {}, formatClock(d.delivered_at)), h('td', {}, formatClock(d.read_at))))
          : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No driver concerned yet.')))),
      this.mayEdit && !n.withdrawn_at ? h('button', { class: 'withdraw', onclick: () => this.withdraw(n) }, 'Withdraw') : null);
  }

  async withdraw(n) {
    const reason = window.prompt(`Withdraw "${n.title}": reason`);
    if (reason === null) return;
    try {
      await api('POST', `/api/notices/${n.id}/withdraw`, { reason });
      await this.load();
    } catch (err) {
      window.alert(errorText(err));
    }
  }

  /** Delivery changes from the stream: the list's counts and the open notice's table follow. */
  onDeliveries(changes) {
    if (!changes.length) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 300);
  }
}

