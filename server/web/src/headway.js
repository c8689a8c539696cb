// Headways on frequent routes, from the arrival times the engine predicts (GET /api/eta): for
// each vehicle, the vehicle ahead of it on the same route and direction is the one due first at
// the stop that one is heading for, which this vehicle will also serve; the headway is the gap
// between their predicted arrivals there, against the gap in the timetable. Pure: tested by
// vitest.

/** Routes count as frequent when the timetable's gap is at most this (TCQSM: 15 minutes). */
export const FREQUENT_S = 15 * 60;

/**
 * Headways by vehicle id: {ahead (vehicle id), registration of the one ahead, headway_s,
 * scheduled_s, state: 'bunching' (under half the scheduled gap) | 'gap' (over one and a half) |
 * 'regular'}. Vehicles with no one ahead, or on routes that are not frequent, are left out.
 */
export function headways(runs) {
  const byRoute = new Map();
  for (const run of runs || []) {
    if (!run.stops || !run.stops.length) continue;
    const list = byRoute.get(run.route_code) || [];
    list.push(run);
    byRoute.set(run.route_code, list);
  }
  const out = new Map();
  const key = (s) => (s.stop_id != null ? `id:${s.stop_id}` : `code:${s.code}`);
  for (const runs of byRoute.values()) {
    const upcoming = runs.map((run) => {
      const at = new Map();
      for (const s of run.stops) {
        at.set(key(s), { estimated: Date.parse(s.estimated_arrival), scheduled: Date.parse(s.scheduled_arrival) });
      }
      return { run, at, next: key(run.stops[0]) };
    });
    for (const me of upcoming) {
      let best = null;
      for (const other of upcoming) {
        if (other === me) continue;
        // The stop the other vehicle heads for must be one this vehicle will serve too, after it.
        const mine = me.at.get(other.next);
        const theirs = other.at.get(other.next);
        if (!mine || !theirs) continue;
        const headway = (mine.estimated - theirs.estimated) / 1000;
        const scheduled = (mine.scheduled - theirs.scheduled) / 1000;
        if (scheduled <= 0 || headway < -60) continue; // not ahead of us in the timetable, or behind us
        if (!best || scheduled < best.scheduled_s) {
          best = { ahead: other.run.vehicle_id, ahead_registration: other.run.registration, headway_s: Math.max(0, headway), scheduled_s: scheduled };
        }
      }
      if (!best || best.scheduled_s > FREQUENT_S) continue;
      best.state = best.headway_s < best.scheduled_s / 2 ? 'bunching'
        : best.headway_s > best.scheduled_s * 1.5 ? 'gap' : 'regular';
      out.set(me.run.vehicle_id, best);
    }
  }
  return out;
}
