import { describe, it, expect } from 'vitest';
import {
  formatDeviation, describeDeviation, formatDuration, formatClock, formatDateTime, formatAge,
  formatSpeed, errorText,
} from '../src/format.js';

describe('formatDeviation', () => {
  it('signs late and early and pads the seconds', () => {
    expect(formatDeviation(245)).toBe('+4:05');
    expect(formatDeviation(-80)).toBe('\u22121:20');
    expect(formatDeviation(0)).toBe('0:00');
    expect(formatDeviation(0.4)).toBe('0:00');
    expect(formatDeviation(3725)).toBe('+1:02:05');
  });
  it('writes a dash for what is unknown', () => {
    expect(formatDeviation(null)).toBe('—');
    expect(formatDeviation(undefined)).toBe('—');
    expect(formatDeviation(NaN)).toBe('—');
    expect(formatDeviation(Infinity)).toBe('—');
  });
});

describe('describeDeviation', () => {
  const window = { early: 60, late: 300 };
  it('uses the on-time window of the API', () => {
    expect(describeDeviation(300, window)).toBe('on time');
    expect(describeDeviation(301, window)).toBe('5 min late');
    expect(describeDeviation(-60, window)).toBe('on time');
    expect(describeDeviation(-125, window)).toBe('2 min early');
    expect(describeDeviation(null, window)).toBe('unknown');
  });
});

describe('durations, times and speeds', () => {
  it('formats durations by their size', () => {
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(720)).toBe('12 min');
    expect(formatDuration(7500)).toBe('2 h 05 min');
    expect(formatDuration(-5)).toBe('0 s');
    expect(formatDuration(null)).toBe('—');
  });
  it('shows the clock in the zone asked for', () => {
    expect(formatClock('2026-12-03T08:05:09Z', 'UTC')).toBe('08:05:09');
    expect(formatClock('2026-12-03T08:05:09Z', 'Europe/Moscow')).toBe('11:05:09');
    expect(formatClock('not a time', 'UTC')).toBe('—');
    expect(formatClock(null)).toBe('—');
    expect(formatDateTime('2026-12-03T23:30:00Z', 'Europe/Berlin')).toBe('2026-12-04 00:30');
  });
  it('tells the age of a fix', () => {
    const now = Date.parse('2026-12-03T08:10:00Z');
    expect(formatAge('2026-12-03T08:09:52Z', now)).toBe('8 s ago');
    expect(formatAge('2026-12-03T08:07:00Z', now)).toBe('3 min ago');
    expect(formatAge('2026-12-02T08:00:00Z', now)).toBe('24 h ago');
    expect(formatAge('2026-11-30T08:00:00Z', now)).toBe('3 d ago');
    expect(formatAge(null, now)).toBe('—');
  });
  it('rounds speeds', () => {
    expect(formatSpeed(41.6)).toBe('42 km/h');
    expect(formatSpeed(null)).toBe('—');
  });
  it('writes API errors with their code', () => {
    expect(errorText({ code: 'forbidden', message: 'this needs the role admin' }))
      .toBe('this needs the role admin (forbidden)');
    expect(errorText(new Error('boom'))).toBe('boom');
  });
});

describe('event kinds', () => {
  it('reads the engine kinds as words', async () => {
    const { eventLabel } = await import('../src/format.js');
    expect(eventLabel('overspeed')).toBe('speeding');
    expect(eventLabel('signal_lost')).toBe('signal lost');
    expect(eventLabel('some_new_kind')).toBe('some new kind');
  });
});
