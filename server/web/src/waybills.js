// The accountants' table: the waybill report for a period, reconciled by fleetd (GET
// /api/reports/waybills), shown as the very rows the CSV download holds, with the waybills
// that have discrepancies marked and each discrepancy explained; CSV and XLSX downloads.
import { api, query } from './api.js';
import { h, fill, svg } from './dom.js';
import { errorText, formatClock, formatDateTime, localDateValue } from './format.js';
import { scale, linePath } from './track_chart.js';
import { parseCsv } from './csv.js';

/** The roles that may read the report (the API refuses the others). */
export const mayReadReport = (role) => role === 'admin' || role === 'accountant';

export class WaybillsView {
  constructor() {
    const today = new Date();
    const first = new Date(today.getFullYear(), today.getMonth(), 1);
    this.from = h('input', { type: 'date', value: localDateValue(first), 'aria-label': 'from' });
    this.to = h('input', { type: 'date', value: localDateValue(today), 'aria-label': 'to' });
    this.onlyProblems = h('input', { type: 'checkbox', 'aria-label': 'only with discrepancies', onchange: () => this.render() });
    this.links = h('span', { class: 'downloads' });
    this.summary = h('p', { class: 'summary-line' });
    this.error = h('p', { class: 'error', role: 'alert' });
    this.table = h('table', { class: 'waybills' });
    this.detail = h('section', { class: 'waybill-detail' });
    this.rows = [];
    this.element = h('div', { class: 'waybills-view' },
      h('div', { class: 'filters' }, this.from, this.to, h('button', { onclick: () => this.load() }, 'Show'),
        h('label', {}, this.onlyProblems, ' only with discrepancies'), this.links),
      this.error, this.summary, h('div', { class: 'table-scroll' }, this.table), this.detail);
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

  /** One waybill: its reconciliation and the fuel level over its period with fills, drains and receipts. */
  async open(number) {
    const [issuer, n] = number.split('/');
    fill(this.detail, h('p', { class: 'muted' }, `Reconciling ${number}…`));
    try {
      const list = (await api('GET', '/api/waybills' + query({ from: this.from.value, to: this.to.value }))).waybills || [];
      const w = list.find((x) => x.issuer === issuer && String(x.number) === n);
      if (!w) throw new Error(`${number} is not among the period's waybills`);
      const r = (await api('GET', `/api/waybills/${w.id}/reconciliation`)).reconciliation;
      const from = r.departed_at || `${r.valid_from}T00:00:00Z`;
      const to = r.returned_at || new Date().toISOString();
      const track = await api('GET', `/api/vehicles/${r.vehicle.id}/track` + query({ from, to })).catch(() => ({ points: [] }));
      this.drawDetail(number, r, track.points || [], from, to);
    } catch (err) {
      fill(this.detail, h('p', { class: 'error' }, errorText(err)));
    }
  }

  drawDetail(number, r, points, from, to) {
    const fuel = r.fuel || {};
    const readings = points.filter((p) => Number.isFinite(p.fuel_l));
    const facts = [
      ['Vehicle', r.vehicle.registration], ['Driver', r.driver.full_name],
      ['Out', r.departed_at ? formatDateTime(r.departed_at) : '—'], ['Back', r.returned_at ? formatDateTime(r.returned_at) : '—'],
      ['Mileage', `${r.mileage_km ?? '—'} km by odometer, ${r.gps ? r.gps.km.toFixed(1) : '—'} km by GPS`],
      ['Fuel', `out ${fuel.out_l ?? '—'} L, issued ${fuel.issued_l ?? 0} L, in ${fuel.in_l ?? '—'} L; actual ${fuel.actual_l ?? '—'} L against the norm ${fuel.norm ? fuel.norm.norm_l.toFixed(2) : '—'} L`],
    ];
    const width = 900;
    const height = 200;
    const pad = { left: 40, right: 10, top: 10, bottom: 22 };
    const t0 = Date.parse(from);
    const t1 = Date.parse(to);
    const x = scale(t0, t1, pad.left, width - pad.right);
    const levels = [...readings.map((p) => p.fuel_l), ...(fuel.events || []).flatMap((e) => [e.before_l, e.after_l])].filter(Number.isFinite);
    const top = Math.max(10, Math.ceil(Math.max(0, ...levels) / 10) * 10 + 10);
    const y = scale(0, top, height - pad.bottom, pad.top);
    const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'fuel', role: 'img', 'aria-label': 'fuel level' });
    for (let v = 0; v <= top; v += top > 100 ? 50 : 10) {
      chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: 'grid' }),
        svg('text', { x: pad.left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, v));
    }
    chart.append(svg('path', { d: linePath(readings, x, y, (p) => p.fuel_l), class: 'fuel-line', 'data-readings': readings.length }));
    for (const e of fuel.events || []) {
      const ex = x(Date.parse(e.from));
      const ey = y(e.after_l);
      chart.append(svg('g', { class: `fuel-event ${e.kind}` },
        svg('title', {}, `${e.kind} of ${e.volume_l.toFixed(1)} L, ${formatClock(e.from)}–${formatClock(e.to)}: ${e.before_l.toFixed(1)} → ${e.after_l.toFixed(1)} L`),
        svg('path', { d: e.kind === 'fill' ? `M${ex} ${ey - 9} l6 10 h-12 z` : `M${ex} ${ey + 9} l6 -10 h-12 z` })));
    }
    for (const rc of r.receipts || []) {
      const rx = x(Date.parse(rc.time));
      chart.append(svg('g', { class: 'receipt' },
        svg('title', {}, `receipt ${rc.volume_l} L at ${formatClock(rc.time)}${rc.card_or_coupon ? ', ' + rc.card_or_coupon : ''}`),
        svg('line', { x1: rx, x2: rx, y1: pad.top, y2: height - pad.bottom }),
        svg('text', { x: rx + 3, y: pad.top + 10, class: 'axis' }, `${rc.volume_l} L`)));
    }
    chart.append(svg('text', { x: pad.left, y: height - 6, class: 'axis' }, formatDateTime(from)),
      svg('text', { x: width - pad.right, y: height - 6, 'text-anchor': 'end', class: 'axis' }, formatDateTime(to)));
    fill(this.detail,
      h('h3', {}, `Waybill ${number}`, h('small', {}, ` ${r.status}`)),
      h('dl', {}, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      (r.discrepancies || []).length ? h('ul', { class: 'discrepancies' }, r.discrepancies.map((d) => h('li', {}, h('code', {}, d.code), ' ', d.message))) : null,
      h('h3', {}, 'Fuel level', h('small', {}, readings.length
        ? ` ${readings.length} sensor readings; ▲ fills, ▼ drains, | receipts`
        : ' — the track has no fuel readings for this period; receipts and the reconciled figures above')),
      chart);
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
        const row = h('tr', { class: problem(r) ? 'discrepancy' : '', 'data-number': r[0], onclick: () => this.open(r[0]) },
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
