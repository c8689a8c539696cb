import { describe, it, expect } from 'vitest';
import { Fleet } from '../src/fleet.js';

const vehicle = (id, registration, extra = {}) => ({
  id, registration, class: 'bus', active: true, groups: [], position: null, dispatch: null,
  adherence: 'unassigned', open_events: [], ...extra,
});
const onRoute = (route, deviation, adherence) => ({
  dispatch: { assignment_id: 1, route_code: route, route_short_name: route, trip_code: 'T1', block: 'B', deviation_s: deviation },
  adherence,
});
const at = (time, lon = 37.6, lat = 55.7) => ({ position: { time, lon, lat, speed_kmh: 30, course_deg: 90, valid: true } });

function fleet() {
  const f = new Fleet();
  f.load({
    vehicles: [
      vehicle(1, 'BUS-10', { ...onRoute('7', 420, 'late'), ...at('2026-12-03T08:00:00Z'), groups: ['north'] }),
      vehicle(2, 'BUS-2', { ...onRoute('7', 30, 'on_time'), ...at('2026-12-03T08:00:00Z') }),
      vehicle(3, 'BUS-3', { ...onRoute('12', -120, 'early'), ...at('2026-12-03T08:00:00Z'), groups: ['north'] }),
      vehicle(4, 'TRUCK-1', { ...at('2026-12-03T07:00:00Z') }),
      vehicle(5, 'OLD-1', { active: false }),
    ],
    on_time_window_s: { early: 60, late: 300 },
  });
  return f;
}
const now = Date.parse('2026-12-03T08:01:00Z');

describe('the board', () => {
  it('puts the worst states first, then the larger deviations', () => {
    const rows = fleet().rows({}, { key: 'state' }, now);
    expect(rows.map((r) => r.registration)).toEqual(['BUS-10', 'BUS-3', 'BUS-2', 'TRUCK-1']);
  });
  it('leaves out inactive vehicles and marks stale fixes', () => {
    const rows = fleet().rows({}, { key: 'registration' }, now);
    expect(rows.map((r) => r.registration)).toEqual(['BUS-2', 'BUS-3', 'BUS-10', 'TRUCK-1']);
    expect(rows.find((r) => r.id === 4).stale).toBe(true);
    expect(rows.find((r) => r.id === 2).stale).toBe(false);
  });
  it('filters by route, group, state and text', () => {
    const f = fleet();
    expect(f.rows({ route: '7' }, undefined, now).map((r) => r.id).sort()).toEqual([1, 2]);
    expect(f.rows({ group: 'north' }, undefined, now).map((r) => r.id).sort()).toEqual([1, 3]);
    expect(f.rows({ state: 'early' }, undefined, now).map((r) => r.id)).toEqual([3]);
    expect(f.rows({ state: 'problems' }, undefined, now).map((r) => r.id).sort()).toEqual([1, 3]);
    expect(f.rows({ text: 'truck' }, undefined, now).map((r) => r.id)).toEqual([4]);
  });
  it('sorts by deviation both ways, unknown last when descending', () => {
    const f = fleet();
    expect(f.rows({}, { key: 'deviation', descending: true }, now).map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect(f.rows({}, { key: 'deviation', descending: false }, now).map((r) => r.id)).toEqual([4, 3, 2, 1]);
  });
  it('counts the states and lists routes and groups', () => {
    const f = fleet();
    expect(f.counts()).toMatchObject({ late: 1, early: 1, on_time: 1, unassigned: 1, off_route: 0 });
    expect(f.routes()).toEqual([['12', '12'], ['7', '7']].sort((a, b) => a[1].localeCompare(b[1], undefined, { numeric: true })));
    expect(f.groups()).toEqual(['north']);
  });
});

describe('stream frames', () => {
  it('moves vehicles and ignores an older fix', () => {
    const f = fleet();
    const change = f.apply({ type: 'update', positions: [
      { vehicle_id: 2, time: '2026-12-03T08:00:05Z', lon: 37.7, lat: 55.8, speed_kmh: 12, course_deg: 180, valid: true },
      { vehicle_id: 1, time: '2026-12-03T07:59:00Z', lon: 0, lat: 0, speed_kmh: 0, course_deg: 0, valid: true },
      { vehicle_id: 99, time: '2026-12-03T08:00:05Z', lon: 1, lat: 1, valid: true },
    ] });
    expect([...change.moved]).toEqual([2]);
    expect(f.vehicles.get(2).position).toMatchObject({ lon: 37.7, lat: 55.8, speed_kmh: 12 });
    expect(f.vehicles.get(1).position.lon).toBe(37.6);
    expect(f.vehicles.has(99)).toBe(false);
  });
  it('opens and closes events, and follows off-route', () => {
    const f = fleet();
    f.apply({ type: 'update', events: [{ vehicle_id: 2, kind: 'off_route', phase: 'opened', started_at: '2026-12-03T08:00:10Z', magnitude: 250, cause: null }] });
    expect(f.vehicles.get(2).open_events).toHaveLength(1);
    expect(f.vehicles.get(2).adherence).toBe('off_route');
    expect(f.rows({ state: 'problems' }, undefined, now).map((r) => r.id)).toContain(2);
    f.apply({ type: 'update', events: [{ vehicle_id: 2, kind: 'off_route', phase: 'updated', started_at: '2026-12-03T08:00:10Z', magnitude: 400 }] });
    expect(f.vehicles.get(2).open_events).toHaveLength(1);
    expect(f.vehicles.get(2).open_events[0].magnitude).toBe(400);
    f.apply({ type: 'update', events: [{ vehicle_id: 2, kind: 'off_route', phase: 'closed', started_at: '2026-12-03T08:00:10Z' }] });
    expect(f.vehicles.get(2).open_events).toHaveLength(0);
    expect(f.vehicles.get(2).adherence).toBe('unknown');
  });
  it('reports assignment changes for a resync', () => {
    expect(fleet().apply({ type: 'update', assignments: [{ assignment_id: 3 }] }).assignments).toBe(true);
    expect(fleet().apply({ type: 'update' }).assignments).toBe(false);
  });
});

describe("the engine's judgement in frames", () => {
  it('follows the state and deviation the engine sends', () => {
    const f = fleet();
    const change = f.apply({ type: 'update', dispatch: [
      { vehicle_id: 2, adherence: 'late', deviation_s: 400, assignment_id: 1, route_code: '7', route_short_name: '7', trip_code: 'T9', block: 'B', off_route: false },
      { vehicle_id: 1, adherence: 'unassigned', deviation_s: null, assignment_id: null },
      { vehicle_id: 99, adherence: 'late' },
    ] });
    expect([...change.judged].sort()).toEqual([1, 2]);
    expect(f.vehicles.get(2).adherence).toBe('late');
    expect(f.vehicles.get(2).dispatch).toMatchObject({ deviation_s: 400, trip_code: 'T9' });
    expect(f.vehicles.get(1).dispatch).toBeNull();
    expect(f.rows({ state: 'late' }, undefined, now).map((r) => r.id)).toEqual([2]);
  });
});
