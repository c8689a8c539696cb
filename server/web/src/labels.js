// Vehicle names on the map: the dots of vehicles at (nearly) the same place are drawn on top of
// each other, so their names are drawn once, together, where a single name would hide the rest.

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * Groups labelled points lying within `radius` px of a group's first point: [{x, y, text}],
 * at that first point, its names sorted and joined by ", " (at most `most`, then "+N").
 * Points are {x, y, label}, in the order they are drawn.
 */
export function groupLabels(points, radius = 12, most = 3) {
  const groups = [];
  const r2 = radius * radius;
  for (const p of points) {
    const g = groups.find((q) => (q.x - p.x) ** 2 + (q.y - p.y) ** 2 <= r2);
    if (g) g.names.push(p.label);
    else groups.push({ x: p.x, y: p.y, names: [p.label] });
  }
  return groups.map(({ x, y, names }) => {
    names.sort(collator.compare);
    const shown = names.slice(0, most).join(', ');
    return { x, y, text: names.length > most ? `${shown} +${names.length - most}` : shown };
  });
}
