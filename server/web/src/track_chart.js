// What the vehicle panel draws from a track: the speed over time with the speed limit and the
// overspeed stretches. The scales are pure functions (tested by vitest); the SVG is built here.

/** A linear scale from [d0, d1] onto [r0, r1]. */
export function scale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** A speed axis's top: the next multiple of 20 km/h above the highest of speeds and limit. */
export function speedTop(points, limit) {
  let top = limit || 0;
  for (const p of points) if (Number.isFinite(p.speed_kmh) && p.speed_kmh > top) top = p.speed_kmh;
  return Math.max(20, Math.ceil((top + 1) / 20) * 20);
}

/** The SVG path ("M x y L x y ...") of a value of the points over time, broken where unknown. */
export function linePath(points, x, y, value) {
  let d = '';
  let pen = false;
  for (const p of points) {
    const v = value(p);
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(Date.parse(p.time)).toFixed(1)} ${y(v).toFixed(1)} `;
    pen = true;
  }
  return d.trim();
}

/** The speeds' path. */
export function speedPath(points, x, y) {
  return linePath(points, x, y, (p) => p.speed_kmh);
}

/** The speed limits the overspeed events of a period carry (details.limit_kmh), distinct. */
export function limitsOf(events) {
  const out = new Set();
  for (const e of events) {
    if (e.kind === 'overspeed' && e.details && Number.isFinite(e.details.limit_kmh)) out.add(e.details.limit_kmh);
  }
  return [...out].sort((a, b) => a - b);
}
