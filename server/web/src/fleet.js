// The fleet as the dashboard knows it: the vehicles' live state from GET /api/vehicles, kept
// current by the stream's frames (/api/socket). No DOM here: tested by vitest.
import { STATES } from './format.js';

/** Names compared as people read them ("BUS-2" before "BUS-10"); one collator for every sort. */
const collator = new Intl.Collator(undefined, { numeric: true });
export const byName = (a, b) => collator.compare(a, b);

/** A vehicle's fix counts as stale (drawn faded) after this long without a new one. */
export const STALE_MS = 5 * 60 * 1000;

export class Fleet {
  constructor() {
    /** @type {Map<number, object>} LiveVehicle by id, as the API shapes it */
    this.vehicles = new Map();
    this.window = { early: 60, late: 300 };
    /** When each vehicle's marker last moved (performance.now() of the frame that moved it). */
    this.moved = new Map();
  }

  /** Replaces everything with a snapshot (the body of GET /api/vehicles). */
  load(snapshot) {
    this.vehicles.clear();
    for (const v of snapshot.vehicles || []) this.vehicles.set(v.id, v);
    if (snapshot.on_time_window_s) this.window = snapshot.on_time_window_s;
  }

  /**
   * Applies one stream frame ({type: "update", positions, events, assignments, deliveries}).
   * Returns what changed: {moved: Set of ids, events: the frame's events, assignments: bool}.
   * A position older than the one held is ignored (frames can cross a resync).
   */
  apply(frame) {
    const moved = new Set();
    for (const p of frame.positions || []) {
      const v = this.vehicles.get(p.vehicle_id);
      if (!v) continue; // not seen in the snapshot: the next resync brings it
      if (v.position && v.position.time && Date.parse(v.position.time) > Date.parse(p.time)) {
        continue;
      }
      v.position = {
        ...(v.position || {}),
        time: p.time, lon: p.lon, lat: p.lat,
        speed_kmh: p.speed_kmh, course_deg: p.course_deg, valid: p.valid,
      };
      moved.add(p.vehicle_id);
    }
    for (const e of frame.events || []) {
      const v = this.vehicles.get(e.vehicle_id);
      if (!v) continue;
      const open = (v.open_events || []).filter(
        (o) => !(o.kind === e.kind && o.started_at === e.started_at));
      if (e.phase !== 'closed') {
        open.push({ kind: e.kind, started_at: e.started_at, magnitude: e.magnitude, cause: e.cause });
      }
      v.open_events = open;
      // The engine's judgement of the deviation travels with its events: follow it.
      if (e.kind === 'off_route' && v.dispatch) {
        v.dispatch.off_route = e.phase !== 'closed';
        v.adherence = e.phase !== 'closed' ? 'off_route' : v.adherence === 'off_route' ? 'unknown' : v.adherence;
      }
    }
    // The engine's state of each vehicle after its latest matched fix.
    const judged = new Set();
    for (const d of frame.dispatch || []) {
      const v = this.vehicles.get(d.vehicle_id);
      if (!v) continue;
      v.adherence = d.adherence;
      v.dispatch = d.assignment_id == null ? null : {
        ...(v.dispatch || {}),
        assignment_id: d.assignment_id, route_code: d.route_code, route_short_name: d.route_short_name,
        trip_code: d.trip_code, block: d.block, deviation_s: d.deviation_s, off_route: d.off_route,
      };
      judged.add(d.vehicle_id);
    }
    return { moved, judged, events: frame.events || [], assignments: (frame.assignments || []).length > 0 };
  }

  /** The routes (code → short name) of the vehicles on assignments, sorted. */
  routes() {
    const out = new Map();
    for (const v of this.vehicles.values()) {
      if (v.dispatch && v.dispatch.route_code) {
        out.set(v.dispatch.route_code, v.dispatch.route_short_name || v.dispatch.route_code);
      }
    }
    return [...out.entries()].sort((a, b) => byName(a[1], b[1]));
  }

  /** The groups the vehicles belong to, sorted. */
  groups() {
    const out = new Set();
    for (const v of this.vehicles.values()) for (const g of v.groups || []) out.add(g);
    return [...out].sort();
  }

  /**
   * The board: one row per vehicle that passes the filter, sorted.
   * filter: {route, group, state ('problems': any state but on time, or an open event), text}
   * sort: {key: 'state'|'deviation'|'registration'|'route'|'events'|'seen', descending}
   */
  rows(filter = {}, sort = { key: 'state', descending: false }, now = Date.now()) {
    const rows = [];
    for (const v of this.vehicles.values()) {
      if (v.active === false) continue;
      const d = v.dispatch;
      const state = v.adherence || 'unassigned';
      const events = v.open_events || [];
      if (filter.route && (!d || d.route_code !== filter.route)) continue;
      if (filter.group && !(v.groups || []).includes(filter.group)) continue;
      if (filter.state === 'problems') {
        if (state === 'on_time' && events.length === 0) continue;
        if (state === 'unassigned' && events.length === 0) continue;
      } else if (filter.state && state !== filter.state) continue;
      if (filter.text && !v.registration.toLowerCase().includes(filter.text.toLowerCase())) continue;
      const seen = v.position && v.position.time ? Date.parse(v.position.time) : null;
      rows.push({
        id: v.id,
        registration: v.registration,
        route: d ? d.route_short_name || d.route_code : '',
        route_code: d ? d.route_code : '',
        trip: d ? d.trip_code || '' : '',
        block: d ? d.block || '' : '',
        deviation_s: d && Number.isFinite(d.deviation_s) ? d.deviation_s : null,
        state,
        events,
        speed_kmh: v.position ? v.position.speed_kmh : null,
        seen,
        stale: seen === null || now - seen > STALE_MS,
      });
    }
    const rank = (s) => { const i = STATES.indexOf(s); return i < 0 ? STATES.length : i; };
    const by = {
      state: (a, b) => rank(a.state) - rank(b.state) || b.events.length - a.events.length ||
        Math.abs(b.deviation_s ?? 0) - Math.abs(a.deviation_s ?? 0),
      deviation: (a, b) => (a.deviation_s ?? -Infinity) - (b.deviation_s ?? -Infinity),
      registration: (a, b) => byName(a.registration, b.registration),
      route: (a, b) => byName(a.route, b.route),
      events: (a, b) => a.events.length - b.events.length,
      seen: (a, b) => (a.seen ?? 0) - (b.seen ?? 0),
    }[sort.key] || (() => 0);
    rows.sort((a, b) => {
      const c = by(a, b);
      return (sort.descending ? -c : c) ||
        byName(a.registration, b.registration);
    });
    return rows;
  }

  /** Counts by state (the board's summary line). */
  counts() {
    const out = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const v of this.vehicles.values()) {
      if (v.active === false) continue;
      out[v.adherence || 'unassigned'] = (out[v.adherence || 'unassigned'] || 0) + 1;
    }
    return out;
  }
}
