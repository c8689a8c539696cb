// Punctuality as a chart: for each route, the share of arrivals on time in each hour of the day
// (GET /api/reports/punctuality), drawn as an SVG grid the operator reads at a glance.
import { api, query } from './api.js';
import { h, fill, svg } from './dom.js';
import { errorText, localDateValue } from './format.js';
import { byName } from './fleet.js';

/** The colour of an on-time share: red at 50 % and below, through amber, to green at 100 %. */
export function shareColour(share) {
  const t = Math.max(0, Math.min(1, (share - 0.5) / 0.5));
  const hue = Math.round(t * 120);
  return `hsl(${hue}, 65%, ${48 + (1 - t) * 6}%)`;
}

/** Rows of the API by route: [{route, route_code, hours: Map(hour → row), total}] sorted by name. */
export function byRoute(rows) {
  const routes = new Map();
  for (const r of rows) {
    let route = routes.get(r.route_code);
    if (!route) {
      route = { route: r.route, route_code: r.route_code, hours: new Map(), arrivals: 0, on_time: 0 };
      routes.set(r.route_code, route);
    }
    route.hours.set(r.hour, r);
    route.arrivals += r.arrivals;
    route.on_time += r.on_time;
  }
  return [...routes.values()].sort((a, b) => byName(a.route, b.route));
}

export class PunctualityView {
  constructor() {
    this.date = h('input', { type: 'date', value: localDateValue(new Date()), 'aria-label': 'day' });
    this.days = h('select', { 'aria-label': 'days' }, [1, 7, 30].map((n) => h('option', { value: n }, n === 1 ? 'that day' : `${n} days to it`)));
    this.zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    this.error = h('p', { class: 'error', role: 'alert' });
    this.chart = h('div', { class: 'chart' });
    this.element = h('div', { class: 'punctuality-view' },
      h('div', { class: 'filters' }, this.date, this.days, h('button', { onclick: () => this.load() }, 'Show'),
        h('span', { class: 'muted' }, `hours in ${this.zone}`)),
      this.error, this.chart);
  }

  async load() {
    this.error.textContent = '';
    const end = new Date(this.date.value + 'T00:00');
    end.setDate(end.getDate() + 1);
    const start = new Date(end);
    start.setDate(start.getDate() - Number(this.days.value));
    try {
      const answer = await api('GET', '/api/reports/punctuality' + query({
        from: start.toISOString(), to: end.toISOString(), tz: this.zone,
      }));
      this.draw(answer);
    } catch (err) {
      fill(this.chart);
      this.error.textContent = errorText(err);
    }
  }

  draw(answer) {
    this.answer = answer;
    const routes = byRoute(answer.rows || []);
    if (!routes.length) {
      fill(this.chart, h('p', { class: 'empty' }, 'No arrivals at stops in this period.'));
      return;
    }
    const cell = 34;
    const left = 150;
    const top = 28;
    const width = left + 24 * cell + 70;
    const height = top + routes.length * cell + 10;
    const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': 'on-time share by route and hour' });
    for (let hour = 0; hour < 24; hour++) {
      chart.append(svg('text', { x: left + hour * cell + cell / 2, y: top - 10, 'text-anchor': 'middle', class: 'axis' }, String(hour).padStart(2, '0')));
    }
    chart.append(svg('text', { x: left + 24 * cell + 8, y: top - 10, class: 'axis' }, 'all day'));
    routes.forEach((route, i) => {
      const y = top + i * cell;
      chart.append(svg('text', { x: left - 8, y: y + cell / 2 + 4, 'text-anchor': 'end', class: 'route' }, route.route));
      for (let hour = 0; hour < 24; hour++) {
        const r = route.hours.get(hour);
        const x = left + hour * cell;
        if (!r) {
          chart.append(svg('rect', { x: x + 1, y: y + 1, width: cell - 2, height: cell - 2, class: 'none' }));
          continue;
        }
        const g = svg('g', { 'data-route': route.route_code, 'data-hour': hour, 'data-share': r.on_time_share.toFixed(3) },
          svg('title', {}, `${route.route}, ${String(hour).padStart(2, '0')}:00: ${r.on_time} of ${r.arrivals} on time, ${r.late} late, ${r.early} early`),
          svg('rect', { x: x + 1, y: y + 1, width: cell - 2, height: cell - 2, rx: 3, fill: shareColour(r.on_time_share) }),
          svg('text', { x: x + cell / 2, y: y + cell / 2 + 4, 'text-anchor': 'middle', class: 'share' }, Math.round(r.on_time_share * 100)));
        chart.append(g);
      }
      const share = route.arrivals ? route.on_time / route.arrivals : 0;
      chart.append(svg('text', { x: left + 24 * cell + 8, y: y + cell / 2 + 4, class: 'total', 'data-route-total': route.route_code },
        `${Math.round(share * 100)} % of ${route.arrivals}`));
    });
    fill(this.chart, chart,
      h('p', { class: 'muted' }, `On time: from ${answer.on_time_window_s.early} s early to ${answer.on_time_window_s.late} s late at each stop. Cells: % of arrivals on time.`));
  }
}
