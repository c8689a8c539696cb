// One vehicle's period: its track on the map with its events where they happened, the speed
// over time with the limit and the overspeed stretches, and a replay that moves a marker
// along the track (a slider, or Play at 60 times real time).
import { api, query } from './api.js';
import { h, fill, svg } from './dom.js';
import { eventLabel, formatClock, formatSpeed, errorText, localInputValue } from './format.js';
import { scale, speedTop, speedPath, limitsOf } from './track_chart.js';

export class VehiclePanel {
  constructor(map) {
    this.map = map;
    this.id = null;
    this.title = h('h2', {});
    this.from = h('input', { type: 'datetime-local', 'aria-label': 'track from' });
    this.to = h('input', { type: 'datetime-local', 'aria-label': 'track to' });
    this.summary = h('p', { class: 'muted' });
    this.error = h('p', { class: 'error', role: 'alert' });
    this.chart = h('div', { class: 'speed-chart' });
    this.slider = h('input', { type: 'range', min: 0, max: 0, value: 0, 'aria-label': 'replay', oninput: () => this.at(Number(this.slider.value)) });
    this.clock = h('span', { class: 'replay-clock' });
    this.play = h('button', { type: 'button', onclick: () => this.toggle() }, 'Play');
    this.events = h('ul', { class: 'events' });
    this.element = h('aside', { class: 'panel vehicle-panel' },
      h('div', { class: 'row' }, this.title, h('span', { class: 'spacer' }), h('a', { href: '#board' }, 'Back to the board')),
      h('div', { class: 'filters' }, this.from, this.to, h('button', { onclick: () => this.load() }, 'Show track')),
      this.error, this.summary, this.chart,
      h('div', { class: 'row replay' }, this.play, this.slider, this.clock),
      h('h2', {}, 'Events in the period'), this.events);
  }

  show(id, registration) {
    if (this.id !== id) {
      this.id = id;
      this.from.value = localInputValue(new Date(Date.now() - 2 * 3600 * 1000));
      this.to.value = localInputValue(new Date(Date.now() + 60 * 1000));
    }
    this.title.textContent = registration || `vehicle ${id}`;
    this.load();
  }

  hide() {
    this.stop();
    if (this.id === null) return;
    this.id = null;
    this.map.setTrack(null);
    this.map.fitAll();
  }

  async load() {
    this.stop();
    this.error.textContent = '';
    const period = { from: new Date(this.from.value).toISOString(), to: new Date(this.to.value).toISOString() };
    try {
      const [track, events] = await Promise.all([
        api('GET', `/api/vehicles/${this.id}/track` + query(period)),
        api('GET', '/api/events' + query({ vehicle: this.id, ...period, limit: 1000 })),
      ]);
      this.points = track.points || [];
      this.eventsOfPeriod = events.events || [];
    } catch (err) {
      this.points = [];
      this.eventsOfPeriod = [];
      this.error.textContent = errorText(err);
    }
    const speeds = this.points.map((p) => p.speed_kmh).filter(Number.isFinite);
    this.summary.textContent = this.points.length
      ? `${this.points.length} fixes, ${formatClock(this.points[0].time)} to ${formatClock(this.points.at(-1).time)}, top speed ${formatSpeed(Math.max(0, ...speeds))}`
      : 'No fix in this period.';
    this.map.setTrack(this.points, this.eventsOfPeriod);
    this.drawChart();
    this.slider.max = String(Math.max(0, this.points.length - 1));
    this.slider.value = '0';
    if (this.points.length) this.at(0);
    fill(this.events, this.eventsOfPeriod.length ? this.eventsOfPeriod.map((e) => h('li', {},
      h('span', { class: 'event-kind' }, eventLabel(e.kind)),
      h('span', {}, `${formatClock(e.started_at)}–${e.ended_at ? formatClock(e.ended_at) : 'open'}`),
      e.cause ? h('span', { class: 'cause' }, e.cause) : null))
      : h('li', { class: 'empty' }, 'No events.'));
  }

  drawChart() {
    const width = 530;
    const height = 170;
    const pad = { left: 36, right: 8, top: 8, bottom: 22 };
    if (!this.points.length) return fill(this.chart);
    const t0 = Date.parse(this.points[0].time);
    const t1 = Date.parse(this.points.at(-1).time);
    const limits = limitsOf(this.eventsOfPeriod);
    const top = speedTop(this.points, limits.at(-1));
    this.x = scale(t0, t1, pad.left, width - pad.right);
    const y = scale(0, top, height - pad.bottom, pad.top);
    const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'speed', role: 'img', 'aria-label': 'speed over time' });
    // Overspeed stretches first, under the line.
    for (const e of this.eventsOfPeriod.filter((x) => x.kind === 'overspeed')) {
      const a = Math.max(t0, Date.parse(e.started_at));
      const b = Math.min(t1, e.ended_at ? Date.parse(e.ended_at) : t1);
      if (b > a) chart.append(svg('rect', { x: this.x(a), y: pad.top, width: this.x(b) - this.x(a), height: height - pad.top - pad.bottom, class: 'overspeed' }));
    }
    for (let v = 0; v <= top; v += top > 100 ? 40 : 20) {
      chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: 'grid' }));
      chart.append(svg('text', { x: pad.left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, v));
    }
    for (const l of limits) {
      chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(l), y2: y(l), class: 'limit' }));
      chart.append(svg('text', { x: width - pad.right - 2, y: y(l) - 3, 'text-anchor': 'end', class: 'limit-label' }, `limit ${l} km/h`));
    }
    chart.append(svg('path', { d: speedPath(this.points, this.x, y), class: 'speed-line', 'data-points': this.points.length }));
    chart.append(svg('text', { x: pad.left, y: height - 6, class: 'axis' }, formatClock(this.points[0].time)));
    chart.append(svg('text', { x: width - pad.right, y: height - 6, 'text-anchor': 'end', class: 'axis' }, formatClock(this.points.at(-1).time)));
    this.cursor = svg('line', { x1: 0, x2: 0, y1: pad.top, y2: height - pad.bottom, class: 'cursor' });
    chart.append(this.cursor);
    fill(this.chart, chart);
  }

  /** The replay at the i-th fix: the marker on the map, the cursor on the chart. */
  at(i) {
    const p = this.points[i];
    if (!p) return;
    this.map.setReplay(p);
    const x = this.x(Date.parse(p.time));
    this.cursor.setAttribute('x1', x);
    this.cursor.setAttribute('x2', x);
    this.clock.textContent = `${formatClock(p.time)} · ${formatSpeed(p.speed_kmh)}`;
  }

  toggle() {
    if (this.timer) return this.stop();
    this.play.textContent = 'Pause';
    let i = Number(this.slider.value);
    if (i >= this.points.length - 1) i = 0;
    // 60 times real time: each fix shown for its interval / 60, at least a frame.
    const step = () => {
      if (i >= this.points.length - 1) return this.stop();
      const wait = (Date.parse(this.points[i + 1].time) - Date.parse(this.points[i].time)) / 60;
      i++;
      this.slider.value = String(i);
      this.at(i);
      this.timer = setTimeout(step, Math.max(16, Math.min(1000, wait)));
    };
    this.timer = setTimeout(step, 16);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.play.textContent = 'Play';
  }
}
