// Messages with drivers: to one driver, the driver of a vehicle, or everyone on a route now;
// the native terminal offers the canned replies, and each driver's answer appears here live
// (the stream's delivery changes), as it does in the journal.
import { api, query } from './api.js';
import { h, fill } from './dom.js';
import { formatClock, errorText } from './format.js';
import { byName } from './fleet.js';

const REPLY_LABELS = { acknowledged: 'acknowledged', cannot_comply: 'cannot comply', canned: '', free_text: '' };

export class MessagesPanel {
  constructor(session, fleet) {
    this.session = session;
    this.fleet = fleet;
    this.messages = [];
    this.selected = null;
    this.mayEdit = session.user.role === 'admin' || session.user.role === 'dispatcher';
    this.list = h('ul', { class: 'notices messages' });
    this.detail = h('section', { class: 'notice-detail' });
    this.form = this.mayEdit ? this.makeForm() : null;
    this.element = h('aside', { class: 'panel messages-panel' },
      this.form ? h('h2', {}, 'Message to drivers') : null, this.form,
      h('h2', {}, 'Messages in force'), this.list, this.detail);
  }

  makeForm() {
    this.to = h('select', { 'aria-label': 'to whom', onchange: () => this.fillTargets() },
      h('option', { value: 'vehicles' }, 'the driver of'),
      h('option', { value: 'drivers' }, 'the driver'),
      h('option', { value: 'routes' }, 'everyone on route'));
    this.target = h('select', { 'aria-label': 'recipient' });
    this.driver = h('input', { 'aria-label': 'personnel number', placeholder: 'personnel number', hidden: true });
    const text = h('input', { name: 'message', maxlength: 160, required: true, placeholder: 'Message (at most 160 characters)' });
    const replies = h('input', { name: 'replies', value: (this.session.ui.replies || []).join(', '),
      'aria-label': 'canned replies', placeholder: 'canned replies, comma-separated' });
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'notice-form', onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const kind = this.to.value;
      const who = kind === 'drivers' ? this.driver.value.trim() : this.target.value;
      if (!who) {
        error.textContent = 'Choose who gets the message.';
        return;
      }
      const canned = replies.value.split(',').map((r) => r.trim()).filter(Boolean);
      try {
        const sent = await api('POST', '/api/messages', { text: text.value, [kind]: [who], ...(canned.length ? { replies: canned } : {}) });
        text.value = '';
        await this.load();
        this.select(sent.message.id);
      } catch (err) {
        error.textContent = errorText(err);
      }
    } },
    h('div', { class: 'row' }, this.to, this.target, this.driver),
    text,
    h('div', { class: 'row' }, replies, h('button', { type: 'submit' }, 'Send')),
    error);
    return form;
  }

  fillTargets() {
    if (!this.form) return;
    const kind = this.to.value;
    this.driver.hidden = kind !== 'drivers';
    this.target.hidden = kind === 'drivers';
    const chosen = this.target.value;
    const entries = kind === 'routes' ? this.fleet.routes()
      : [...this.fleet.vehicles.values()].map((v) => [v.registration, v.registration]).sort((a, b) => byName(a[0], b[0]));
    fill(this.target, entries.map(([value, label]) => h('option', { value }, label)));
    if (entries.some(([v]) => v === chosen)) this.target.value = chosen;
  }

  async load() {
    this.fillTargets();
    try {
      this.messages = (await api('GET', '/api/messages' + query({ limit: 100 }))).messages || [];
    } catch (err) {
      fill(this.list, h('li', { class: 'error' }, errorText(err)));
      return;
    }
    fill(this.list, this.messages.length ? this.messages.map((m) => h('li', {
      'data-message': m.id, class: m.id === this.selected ? 'selected' : '', onclick: () => this.select(m.id),
    }, h('strong', {}, m.short_text), h('small', {}, ` ${m.created_by}, ${formatClock(m.created_at)}`),
    h('span', { class: 'counts' }, Object.entries(m.deliveries || {}).map(([s, n]) => `${n} ${s}`).join(', '))))
      : h('li', { class: 'empty' }, 'No message in force.'));
    if (this.selected) await this.loadDeliveries();
  }

  async select(id) {
    this.selected = id;
    for (const li of this.list.querySelectorAll('li[data-message]')) li.classList.toggle('selected', Number(li.dataset.message) === id);
    await this.loadDeliveries();
  }

  async loadDeliveries() {
    const m = this.messages.find((x) => x.id === this.selected);
    if (!m) return fill(this.detail);
    let deliveries = [];
    try {
      deliveries = (await api('GET', `/api/notices/${m.id}/deliveries`)).deliveries || [];
    } catch (err) {
      return fill(this.detail, h('p', { class: 'error' }, errorText(err)));
    }
    fill(this.detail,
      h('p', { class: 'short-text' }, m.short_text),
      h('table', { class: 'deliveries' },
        h('thead', {}, h('tr', {}, ['Driver', 'Vehicle', 'State', 'Reply', 'At'].map((t) => h('th', {}, t)))),
        h('tbody', {}, deliveries.length ? deliveries.map((d) => h('tr', { 'data-driver': d.driver, 'data-state': d.state },
          h('td', {}, d.driver), h('td', {}, d.vehicle || '—'),
          h('td', {}, h('span', { class: `delivery ${d.state}` }, d.state)),
          h('td', { class: 'reply' }, d.reply ? [REPLY_LABELS[d.reply] || '', d.reply_text ? ` “${d.reply_text}”` : ''].join('').trim() : '—'),
          h('td', {}, formatClock(d.replied_at || d.read_at || d.delivered_at || d.sent_at))))
          : h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'Nobody reached yet.')))));
  }

  onDeliveries(changes) {
    if (!changes.length) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 300);
  }
}
