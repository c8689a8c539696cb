// What a notice's form checks before it asks the API (which checks again): the area read from
// a GeoJSON file, and the short text terminals show. Pure: tested by vitest.

const AREA_TYPES = ['Polygon', 'MultiPolygon', 'LineString', 'MultiLineString'];

/**
 * The geometry of a GeoJSON text's object: a geometry, a Feature, or a FeatureCollection of
 * one feature. Throws an Error saying what is wrong for anything else.
 */
export function geometryOfGeoJSON(value) {
  if (!value || typeof value !== 'object') throw new Error('not a GeoJSON object');
  let g = value;
  if (g.type === 'FeatureCollection') {
    const features = Array.isArray(g.features) ? g.features : [];
    if (features.length !== 1) throw new Error(`a collection of ${features.length} features: give one area`);
    g = features[0];
  }
  if (g.type === 'Feature') g = g.geometry;
  if (!g || !AREA_TYPES.includes(g.type)) {
    throw new Error(`a ${g && g.type ? g.type : 'geometry-less object'} is not an area: a polygon or a road section (line) is`);
  }
  if (!Array.isArray(g.coordinates) || g.coordinates.length === 0) throw new Error('the geometry has no coordinates');
  return { type: g.type, coordinates: g.coordinates };
}

/** Why a short text cannot go to every terminal; null when it can. */
export function shortTextProblem(text) {
  if (!text || !text.trim()) return 'The short text is required: it is what the terminal shows.';
  if ([...text].length > 160) return `The short text is ${[...text].length} characters; terminals take at most 160.`;
  return null;
}

