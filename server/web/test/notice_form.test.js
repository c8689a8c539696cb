import { describe, it, expect } from 'vitest';
import { geometryOfGeoJSON, shortTextProblem } from '../src/notice_form.js';

const square = { type: 'Polygon', coordinates: [[[37.6, 55.7], [37.7, 55.7], [37.7, 55.8], [37.6, 55.7]]] };

describe('the area of a notice from a file', () => {
  it('takes a geometry, a feature, or a collection of one', () => {
    expect(geometryOfGeoJSON(square)).toEqual(square);
    expect(geometryOfGeoJSON({ type: 'Feature', properties: {}, geometry: square })).toEqual(square);
    expect(geometryOfGeoJSON({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: square }] })).toEqual(square);
    const line = { type: 'LineString', coordinates: [[37.6, 55.7], [37.7, 55.7]] };
    expect(geometryOfGeoJSON(line)).toEqual(line);
  });
  it('refuses what is not one area, saying why', () => {
    expect(() => geometryOfGeoJSON({ type: 'Point', coordinates: [37.6, 55.7] })).toThrow('a Point is not an area');
    expect(() => geometryOfGeoJSON({ type: 'FeatureCollection', features: [] })).toThrow('a collection of 0 features');
    expect(() => geometryOfGeoJSON({ type: 'Feature', geometry: null })).toThrow('geometry-less object is not an area');
    expect(() => geometryOfGeoJSON({ type: 'Polygon', coordinates: [] })).toThrow('no coordinates');
    expect(() => geometryOfGeoJSON(null)).toThrow('not a GeoJSON object');
    expect(() => geometryOfGeoJSON('text')).toThrow('not a GeoJSON object');
  });
});

describe('the short text', () => {
  it('is required and at most 160 characters', () => {
    expect(shortTextProblem('')).toMatch('required');
    expect(shortTextProblem('   ')).toMatch('required');
    expect(shortTextProblem('x'.repeat(160))).toBeNull();
    expect(shortTextProblem('x'.repeat(161))).toMatch('161 characters');
    expect(shortTextProblem('ё'.repeat(160))).toBeNull();
  });
});
