import { describe, it, expect } from 'vitest';
import { parseCsv } from '../src/csv.js';

describe('parseCsv', () => {
  it('reads plain, quoted and empty fields', () => {
    expect(parseCsv('a,b,c\n1,,3\n')).toEqual([['a', 'b', 'c'], ['1', '', '3']]);
    expect(parseCsv('"x, y","say ""hi""",z')).toEqual([['x, y', 'say "hi"', 'z']]);
  });
  it('keeps line breaks inside quotes and takes CRLF', () => {
    expect(parseCsv('"two\nlines",b\r\nc,d\r\n')).toEqual([['two\nlines', 'b'], ['c', 'd']]);
  });
  it('reads nothing from nothing', () => {
    expect(parseCsv('')).toEqual([]);
  });
});
