import { describe, it, expect } from 'vitest';
import { headways } from '../src/headway.js';

const t = (min) => new Date(Date.parse('2026-12-03T08:00:00Z') + min * 60000).toISOString();
const run = (id, route, stops) => ({
  vehicle_id: id, registration: `BUS-${id}`, route_code: route,
  stops: stops.map(([stop, scheduled, estimated]) => ({ stop_id: stop, code: `S${stop}`, scheduled_arrival: t(scheduled), estimated_arrival: t(estimated) })),
});

describe('headways', () => {
  it('finds the vehicle ahead and judges the gap against the timetable', () => {
    // Every 10 minutes: 1 heads for stop 3, 2 for stop 2 (10 min behind), 3 for stop 1 but only 2 min behind 2.
    const h = headways([
      run(1, 'R', [[3, 10, 10], [4, 15, 15]]),
      run(2, 'R', [[2, 15, 15], [3, 20, 20], [4, 25, 25]]),
      run(3, 'R', [[1, 20, 12], [2, 25, 17], [3, 30, 22], [4, 35, 27]]),
    ]);
    expect(h.get(1)).toBeUndefined(); // nobody ahead
    expect(h.get(2)).toMatchObject({ ahead: 1, headway_s: 600, scheduled_s: 600, state: 'regular' });
    expect(h.get(3)).toMatchObject({ ahead: 2, headway_s: 120, scheduled_s: 600, state: 'bunching' });
  });
  it('marks a gap and leaves routes that are not frequent alone', () => {
    const gap = headways([run(1, 'R', [[2, 10, 10]]), run(2, 'R', [[1, 15, 12], [2, 20, 26]])]);
    expect(gap.get(2)).toMatchObject({ headway_s: 960, scheduled_s: 600, state: 'gap' });
    const rare = headways([run(1, 'R', [[2, 10, 10]]), run(2, 'R', [[1, 25, 30], [2, 40, 40]])]);
    expect(rare.get(2)).toBeUndefined();
  });
  it('does not compare other routes or the other direction', () => {
    const h = headways([run(1, 'A', [[2, 10, 10]]), run(2, 'B', [[1, 15, 15], [2, 20, 20]]),
      run(3, 'A', [[7, 12, 12], [8, 14, 14]])]);
    expect(h.size).toBe(0);
  });
});
