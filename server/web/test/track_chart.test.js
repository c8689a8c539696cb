import { describe, it, expect } from 'vitest';
import { scale, speedTop, speedPath, limitsOf } from '../src/track_chart.js';

describe('the speed chart', () => {
  it('scales linearly', () => {
    const s = scale(0, 100, 10, 210);
    expect(s(0)).toBe(10);
    expect(s(50)).toBe(110);
    expect(scale(5, 5, 0, 10)(5)).toBe(0);
  });
  it('tops the axis above the speeds and the limit', () => {
    expect(speedTop([{ speed_kmh: 42 }], 60)).toBe(80);
    expect(speedTop([{ speed_kmh: 95 }], 70)).toBe(100);
    expect(speedTop([], null)).toBe(20);
  });
  it('breaks the line where the speed is unknown', () => {
    const pts = [
      { time: '2026-12-03T08:00:00Z', speed_kmh: 10 },
      { time: '2026-12-03T08:00:10Z', speed_kmh: 20 },
      { time: '2026-12-03T08:00:20Z', speed_kmh: null },
      { time: '2026-12-03T08:00:30Z', speed_kmh: 30 },
    ];
    const t0 = Date.parse(pts[0].time);
    expect(speedPath(pts, (t) => (t - t0) / 1000, (v) => v)).toBe('M0.0 10.0 L10.0 20.0 M30.0 30.0');
  });
  it('reads the limits from overspeed events', () => {
    expect(limitsOf([{ kind: 'overspeed', details: { limit_kmh: 70 } }, { kind: 'late', details: {} },
      { kind: 'overspeed', details: { limit_kmh: 70 } }, { kind: 'overspeed', details: { limit_kmh: 40 } }])).toEqual([40, 70]);
  });
});

describe('the fuel line', () => {
  it('follows the fuel level and breaks where it is unknown', async () => {
    const { linePath } = await import('../src/track_chart.js');
    const pts = [
      { time: '2026-12-03T08:00:00Z', fuel_l: 40 },
      { time: '2026-12-03T08:00:10Z' },
      { time: '2026-12-03T08:00:20Z', fuel_l: 38.5 },
    ];
    const t0 = Date.parse(pts[0].time);
    expect(linePath(pts, (t) => (t - t0) / 1000, (v) => v, (p) => p.fuel_l)).toBe('M0.0 40.0 M20.0 38.5');
  });
});
