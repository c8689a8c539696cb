import { describe, it, expect } from 'vitest';
import { groupLabels } from '../src/labels.js';

describe('groupLabels', () => {
  it('keeps apart the names of vehicles drawn apart', () => {
    expect(groupLabels([{ x: 10, y: 10, label: 'A' }, { x: 40, y: 10, label: 'B' }])).toEqual([
      { x: 10, y: 10, text: 'A' },
      { x: 40, y: 10, text: 'B' },
    ]);
  });

  it('draws the names of vehicles on the same spot once, together, sorted', () => {
    const got = groupLabels([
      { x: 100, y: 50, label: 'BUS-10' },
      { x: 100, y: 50, label: 'BUS-2' },
      { x: 108, y: 55, label: 'BUS-1' },
      { x: 300, y: 50, label: 'TRUCK-7' },
    ]);
    expect(got).toEqual([
      { x: 100, y: 50, text: 'BUS-1, BUS-2, BUS-10' },
      { x: 300, y: 50, text: 'TRUCK-7' },
    ]);
  });

  it('names at most three, then says how many more', () => {
    const five = ['E', 'D', 'C', 'B', 'A'].map((label) => ({ x: 0, y: 0, label }));
    expect(groupLabels(five)).toEqual([{ x: 0, y: 0, text: 'A, B, C +2' }]);
  });

  it('judges nearness from each group\'s first point, within the radius', () => {
    const got = groupLabels([
      { x: 0, y: 0, label: 'A' },
      { x: 12, y: 0, label: 'B' },
      { x: 13, y: 0, label: 'C' },
    ]);
    expect(got).toEqual([{ x: 0, y: 0, text: 'A, B' }, { x: 13, y: 0, text: 'C' }]);
  });
});
