// The accountants' table: the waybill report for a period, reconciled by fleetd (GET
// /api/reports/waybills), shown as the very rows the CSV download holds, with the waybills
// that have discrepancies marked and each discrepancy explained; CSV and XLSX downloads.
import { api, query } from './api.js';
import { h, fill } from './dom.js';
import { errorText } from './format.js';
import { parseCsv } from './csv.js';

/** The roles that may read the report (the API refuses the others). */
export const mayReadReport = (role) => role === 'admin' || role === 'accountant';

export class WaybillsView {
  constructor() {
    const today = new Date();
    const first = new Date(today.getFullYear(), today.getMonth(), 1);
    const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    this.from = h('input', { type: 'date', value: day(first), 'aria-label': 'from' });
    this.to = h('input', { type: 'date', value: day(today), 'aria-label': 'to' });
    this.onlyProblems = h('input', { type: 'checkbox', 'aria-label': 'only with discrepancies', onchange: () => this.render() });
    this.links = h('span', { class: 'downloads' });
    this.summary = h('p', { class: 'summary-line' });
    this.error = h('p', { class: 'error', role: 'alert' });
    this.table = h('table', { class: 'waybills' });
    this.rows = [];
    this.element = h('div', { class: 'waybills-view' },
      h('div', { class: 'filters' }, this.from, this.to, h('button', { onclick: () => this.load() }, 'Show'),
        h('label', {}, this.onlyProblems, ' only with discrepancies'), this.links),
      this.error, this.summary, h('div', { class: 'table-scroll' }, this.table));
  }

  url(format) {
    return '/api/reports/waybills' + query({ from: this.from.value, to: this.to.value, format });
  }

  async load() {
    this.error.textContent = '';
    fill(this.links,
      h('a', { href: this.url('csv'), download: '', class: 'button' }, 'Download CSV'),
      h('a', { href: this.url('xlsx'), download: '', class: 'button' }, 'Download XLSX'));
    try {
      const text = await api('GET', this.url('csv'));
      const rows = parseCsv(typeof text === 'string' ? text : '');
      this.header = rows[0] || [];
      this.rows = rows.slice(1);
    } catch (err) {
      this.header = [];
      this.rows = [];
      this.error.textContent = errorText(err);
    }
    this.render();
  }

  render() {
    const at = (name) => this.header.indexOf(name);
    const codes = at('Discrepancies');
    const details = at('Discrepancy details');
    const problem = (r) => codes >= 0 && r[codes] !== '';
    const shown = this.onlyProblems.checked ? this.rows.filter(problem) : this.rows;
    const flagged = this.rows.filter(problem).length;
    this.summary.textContent = this.header.length
      ? `${this.rows.length} waybills, ${flagged} with discrepancies` : '';
    // The explanation of a flagged waybill is its own column; the codes mark the cells they name.
    const marked = (r) => {
      const c = codes >= 0 ? r[codes] : '';
      const cols = new Set();
      if (/odometer/.test(c)) ['Odometer out, km', 'Odometer in, km', 'Mileage by odometer, km'].forEach((n) => cols.add(at(n)));
      if (/gps|mileage/.test(c)) ['Mileage by odometer, km', 'Mileage by GPS, km'].forEach((n) => cols.add(at(n)));
      if (/fuel|norm|overspend|drain|fill|receipt/.test(c)) ['Fuel norm, L', 'Fuel actual, L', 'Saving (overspend < 0), L', 'Fuel issued, L'].forEach((n) => cols.add(at(n)));
      return cols;
    };
    fill(this.table,
      h('thead', {}, h('tr', {}, this.header.map((name) => h('th', {}, name)))),
      h('tbody', {}, shown.length ? shown.map((r) => {
        const cols = marked(r);
        const row = h('tr', { class: problem(r) ? 'discrepancy' : '', 'data-number': r[0] },
          r.map((v, i) => h('td', {
            class: (i === details ? 'explain ' : '') + (cols.has(i) ? 'flag' : ''),
            title: problem(r) && details >= 0 ? r[details] : null,
          }, v)));
        // Under a flagged waybill, what is wrong, where the eye is (the report's last columns
        // are off screen on a laptop).
        return problem(r) ? [row, h('tr', { class: 'explain-row' }, h('td', { colspan: r.length },
          h('div', {}, `${r[0]}: ${details >= 0 ? r[details] : r[codes]}`)))] : row;
      }) : h('tr', {}, h('td', { colspan: Math.max(1, this.header.length), class: 'empty' },
        this.header.length ? 'No waybill in this period.' : 'Choose a period and press Show.'))));
  }
}
