import { describe, it, expect } from 'vitest';
import { byRoute, shareColour } from '../src/punctuality.js';

describe('punctuality', () => {
  it('groups the rows by route with their totals, sorted by name', () => {
    const routes = byRoute([
      { route_code: 'R10', route: '10', hour: 8, arrivals: 10, on_time: 9, early: 0, late: 1, on_time_share: 0.9 },
      { route_code: 'R2', route: '2', hour: 8, arrivals: 4, on_time: 2, early: 1, late: 1, on_time_share: 0.5 },
      { route_code: 'R2', route: '2', hour: 9, arrivals: 6, on_time: 6, early: 0, late: 0, on_time_share: 1 },
    ]);
    expect(routes.map((r) => r.route)).toEqual(['2', '10']);
    expect(routes[0].arrivals).toBe(10);
    expect(routes[0].on_time).toBe(8);
    expect([...routes[0].hours.keys()]).toEqual([8, 9]);
  });
  it('colours from red to green', () => {
    expect(shareColour(0.2)).toBe(shareColour(0.5));
    expect(shareColour(0.5)).toMatch(/^hsl\(0,/);
    expect(shareColour(1)).toMatch(/^hsl\(120,/);
    expect(shareColour(0.75)).toMatch(/^hsl\(60,/);
  });
});
