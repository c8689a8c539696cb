// The live map: Leaflet (no WebGL needed, so it draws in any browser, headless Chromium too)
// with the routes, stops and zones from /api/map/*, and every vehicle drawn on one canvas
// layer, so 2 000 moving vehicles cost one redraw per frame, not 2 000 DOM updates.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { STATE_COLOURS } from './format.js';
import { STALE_MS } from './fleet.js';
import { groupLabels } from './labels.js';

const SPRITE_SIZE = 30;
const LABELS_UP_TO = 80;
const SPRITE_HALF = SPRITE_SIZE / 2;
const sprites = new Map();

/** A vehicle's picture: a dot with a white rim, an arrow for heading (0-15; -1 none). */
function vehicleSprite(colour, stale, heading) {
  const key = `${colour}/${stale}/${heading}`;
  let sprite = sprites.get(key);
  if (sprite) return sprite;
  sprite = document.createElement('canvas');
  const ratio = window.devicePixelRatio || 1;
  sprite.width = sprite.height = SPRITE_SIZE * ratio;
  const g = sprite.getContext('2d');
  g.scale(ratio, ratio);
  g.globalAlpha = stale ? 0.45 : 1;
  g.fillStyle = colour;
  const c = SPRITE_HALF;
  if (heading >= 0) {
    const a = (heading * 22.5 * Math.PI) / 180;
    g.beginPath();
    g.moveTo(c + Math.sin(a) * 13, c - Math.cos(a) * 13);
    g.lineTo(c + Math.sin(a + 2.4) * 7, c - Math.cos(a + 2.4) * 7);
    g.lineTo(c + Math.sin(a - 2.4) * 7, c - Math.cos(a - 2.4) * 7);
    g.closePath();
    g.fill();
  }
  g.beginPath();
  g.arc(c, c, 7, 0, 2 * Math.PI);
  g.fill();
  g.lineWidth = 2;
  g.strokeStyle = '#fff';
  g.stroke();
  sprites.set(key, sprite);
  return sprite;
}

/** One canvas over the map with every vehicle: a dot coloured by state, an arrow for heading. */
const VehicleLayer = L.Layer.extend({
  initialize() {
    this.vehicles = [];
    this.selected = null;
    this.pending = false;
    this.onDraw = null;
  },
  onAdd(map) {
    this.map = map;
    this.canvas = L.DomUtil.create('canvas', 'vehicle-layer leaflet-zoom-hide');
    map.getContainer().appendChild(this.canvas);
    this.canvas.style.position = 'absolute';
    this.canvas.style.left = '0';
    this.canvas.style.top = '0';
    this.canvas.style.zIndex = '450';
    this.canvas.style.pointerEvents = 'none';
    map.on('move zoom resize viewreset', this.schedule, this);
    this.schedule();
  },
  onRemove(map) {
    map.off('move zoom resize viewreset', this.schedule, this);
    this.canvas.remove();
  },
  setVehicles(vehicles) {
    this.vehicles = vehicles;
    this.schedule();
  },
  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  },
  draw() {
    const probe = window.fleetProbe;
    const start = probe ? performance.now() : 0;
    this.paint();
    if (probe) (probe.timings.draw ||= []).push(performance.now() - start);
    if (this.onDraw) this.onDraw();
  },
  paint() {
    const map = this.map;
    if (!map) return;
    const size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    const c = this.canvas;
    if (c.width !== size.x * ratio || c.height !== size.y * ratio) {
      c.width = size.x * ratio;
      c.height = size.y * ratio;
      c.style.width = size.x + 'px';
      c.style.height = size.y + 'px';
    }
    const g = c.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, size.x, size.y);
    const now = Date.now();
    // Each vehicle is one drawImage of a sprite made once per colour, freshness and heading
    // (16 headings): a fleet of thousands costs a few milliseconds, not a path per vehicle.
    let drawn = 0;
    for (const v of this.vehicles) {
      const p = map.latLngToContainerPoint([v.lat, v.lon]);
      v.x = p.x;
      v.y = p.y;
      if (p.x < -20 || p.y < -20 || p.x > size.x + 20 || p.y > size.y + 20) continue;
      drawn++;
      const stale = !v.time || now - Date.parse(v.time) > STALE_MS;
      const heading = Number.isFinite(v.course) && (v.speed ?? 1) > 1 ? Math.round(v.course / 22.5) % 16 : -1;
      const sprite = vehicleSprite(STATE_COLOURS[v.state] || STATE_COLOURS.unassigned, stale, heading);
      g.drawImage(sprite, Math.round(v.x) - SPRITE_HALF, Math.round(v.y) - SPRITE_HALF, SPRITE_SIZE, SPRITE_SIZE);
    }
    g.globalAlpha = 1;
    const selected = this.vehicles.find((v) => v.id === this.selected);
    if (selected && selected.x !== undefined) {
      g.beginPath();
      g.arc(selected.x, selected.y, 10, 0, 2 * Math.PI);
      g.lineWidth = 3;
      g.strokeStyle = '#111';
      g.stroke();
    }
    // Names beside the dots when they can be read: few vehicles in view (the selected one always).
    const labels = drawn <= LABELS_UP_TO;
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    g.lineWidth = 3;
    const shown = this.vehicles.filter((v) => v.x !== undefined && (labels || v.id === this.selected) &&
      v.x >= -20 && v.y >= -20 && v.x <= size.x + 20 && v.y <= size.y + 20);
    // Vehicles on one spot: their names once, together ("BUS-1, BUS-2"), not one over another.
    for (const l of groupLabels(shown)) {
      g.strokeStyle = '#fff';
      g.strokeText(l.text, l.x + 11, l.y);
      g.fillStyle = '#111';
      g.fillText(l.text, l.x + 11, l.y);
    }
    g.globalAlpha = 1;
    // What was drawn, for the page's tests and the benchmark.
    c.dataset.drawn = String(drawn);
    c.dataset.draws = String(Number(c.dataset.draws || 0) + 1);
  },
  /** The vehicle drawn nearest to a container point, within 12 px. */
  hit(point) {
    let best = null;
    let bestD = 144;
    for (const v of this.vehicles) {
      if (v.x === undefined) continue;
      const d = (v.x - point.x) ** 2 + (v.y - point.y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = v;
      }
    }
    return best;
  },
});

export class LiveMap {
  /** ui: the body of GET /api/ui (map_tiles, map_attribution). */
  constructor(element, ui, { onSelect } = {}) {
    this.map = L.map(element, {
      zoomAnimation: false,
      fadeAnimation: false,
      markerZoomAnimation: false,
      preferCanvas: true,
      zoomControl: true,
      attributionControl: true,
    });
    this.map.attributionControl.setPrefix(false);
    if (ui.map_tiles) {
      L.tileLayer(ui.map_tiles, { maxZoom: 19, attribution: ui.map_attribution || '' }).addTo(this.map);
    } else {
      element.classList.add('plain-map');
    }
    this.map.setView([0, 0], 2);
    this.vehicles = new VehicleLayer();
    this.vehicles.addTo(this.map);
    this.layers = L.layerGroup().addTo(this.map);
    this.overlays = L.layerGroup().addTo(this.map);
    this.fitted = false;
    this.onSelect = onSelect;
    this.drawing = null;
    this.map.on('click', (e) => {
      if (this.drawing) {
        this.drawing.points.push([e.latlng.lng, e.latlng.lat]);
        this.showDrawing();
        return;
      }
      const v = this.vehicles.hit(e.containerPoint);
      if (v && this.onSelect) this.onSelect(v.id);
    });
    this.map.on('mousemove', (e) => {
      element.style.cursor = this.vehicles.hit(e.containerPoint) ? 'pointer' : '';
    });
  }

  /** The reference layers: routes, stops and zones (GeoJSON FeatureCollections). */
  setReference({ routes, stops, zones }) {
    this.layers.clearLayers();
    const zoneStyle = (f) => ({
      color: f.properties.kind === 'speed_zone' ? '#f9a825' : f.properties.kind === 'depot' ? '#546e7a' : '#0277bd',
      weight: 1, fillOpacity: 0.08,
    });
    if (zones) {
      L.geoJSON(zones, { style: zoneStyle, interactive: false }).addTo(this.layers);
    }
    if (routes) {
      L.geoJSON(routes, {
        style: (f) => ({ color: f.properties.colour ? '#' + f.properties.colour : '#1565c0', weight: 4, opacity: 0.55 }),
        onEachFeature: (f, layer) => layer.bindTooltip(f.properties.short_name || f.properties.code, { sticky: true }),
      }).addTo(this.layers);
    }
    if (stops) {
      L.geoJSON(stops, {
        pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 3, color: '#37474f', weight: 1, fillColor: '#fff', fillOpacity: 1 }),
        onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name || f.properties.code),
      }).addTo(this.layers);
    }
    this.referenceBounds = L.geoJSON(routes || { type: 'FeatureCollection', features: [] }).getBounds();
  }

  /** Draws the fleet: [{id, lat, lon, course, speed, state, label, time}]. */
  setVehicles(list) {
    this.vehicles.setVehicles(list);
    if (!this.fitted) {
      const bounds = L.latLngBounds(list.map((v) => [v.lat, v.lon]));
      if (this.referenceBounds && this.referenceBounds.isValid()) bounds.extend(this.referenceBounds);
      if (bounds.isValid()) {
        this.map.fitBounds(bounds.pad(0.1), { maxZoom: 15 });
        this.fitted = true;
      }
    }
  }

  /**
   * Drawing an area: each click on the map adds a point of a polygon ('polygon') or of a road
   * section ('line'); onChange(geometry or null) follows every click. stopDrawing() ends it.
   */
  startDrawing(kind, onChange) {
    this.stopDrawing();
    this.drawing = { kind, points: [], onChange };
    this.map.getContainer().classList.add('drawing');
    this.showDrawing();
  }

  stopDrawing() {
    if (this.drawLayer) this.drawLayer.remove();
    this.drawLayer = null;
    this.drawing = null;
    this.map.getContainer().classList.remove('drawing');
  }

  /** The drawn geometry as GeoJSON, or null while it has too few points. */
  drawnGeometry() {
    const d = this.drawing;
    if (!d) return null;
    if (d.kind === 'line') return d.points.length >= 2 ? { type: 'LineString', coordinates: d.points } : null;
    return d.points.length >= 3 ? { type: 'Polygon', coordinates: [[...d.points, d.points[0]]] } : null;
  }

  showDrawing() {
    if (this.drawLayer) this.drawLayer.remove();
    const d = this.drawing;
    const latlngs = d.points.map(([lon, lat]) => [lat, lon]);
    const style = { color: '#d84315', weight: 3, dashArray: '6 4', fillOpacity: 0.15 };
    this.drawLayer = L.layerGroup([
      d.kind === 'line' ? L.polyline(latlngs, style) : L.polygon(latlngs, style),
      ...latlngs.map((ll) => L.circleMarker(ll, { radius: 4, color: '#d84315', fillOpacity: 1 })),
    ]).addTo(this.map);
    if (d.onChange) d.onChange(this.drawnGeometry());
  }

  /** A vehicle's track for a period with its events where they happened; null clears it. */
  setTrack(points, events = []) {
    if (this.trackLayer) this.trackLayer.remove();
    this.trackLayer = null;
    this.replayMarker = null;
    if (!points) return;
    const layer = L.layerGroup();
    const line = L.polyline(points.map((p) => [p.lat, p.lon]), { color: '#283593', weight: 3, opacity: 0.8 });
    line.addTo(layer);
    for (const e of events) {
      if (!e.geometry) continue;
      L.geoJSON(e.geometry, {
        style: { color: '#d84315', weight: 6, opacity: 0.7 },
        pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: '#d84315', fillColor: '#fff', fillOpacity: 1, weight: 3 }),
      }).bindTooltip(`${e.kind} ${e.started_at}`).addTo(layer);
    }
    this.replayMarker = L.circleMarker([0, 0], { radius: 8, color: '#111', weight: 3, fillColor: '#ffeb3b', fillOpacity: 1 });
    layer.addTo(this.map);
    this.trackLayer = layer;
    if (points.length) this.map.fitBounds(line.getBounds().pad(0.2), { maxZoom: 16 });
  }

  /** Back to the whole fleet and its routes (after a track was looked at). */
  fitAll() {
    const bounds = L.latLngBounds(this.vehicles.vehicles.map((v) => [v.lat, v.lon]));
    if (this.referenceBounds && this.referenceBounds.isValid()) bounds.extend(this.referenceBounds);
    if (bounds.isValid()) this.map.fitBounds(bounds.pad(0.1), { maxZoom: 15 });
  }

  /** The replay's marker at a fix of the track. */
  setReplay(point) {
    if (!this.replayMarker) return;
    this.replayMarker.setLatLng([point.lat, point.lon]);
    if (!this.trackLayer.hasLayer(this.replayMarker)) this.replayMarker.addTo(this.trackLayer);
  }

  /** Shows areas (GeoJSON geometries with a colour) over the map: the notices in force. */
  setAreas(areas) {
    this.overlays.clearLayers();
    for (const a of areas) {
      if (!a.geometry) continue;
      const layer = L.geoJSON(a.geometry, {
        style: { color: a.colour || '#d84315', weight: a.selected ? 3 : 2, fillOpacity: a.selected ? 0.2 : 0.08 },
        interactive: false,
      }).addTo(this.overlays);
      if (a.selected && a.fit) this.map.fitBounds(layer.getBounds().pad(0.3), { maxZoom: 16 });
    }
  }

  select(id, { pan = false } = {}) {
    this.vehicles.selected = id;
    const v = this.vehicles.vehicles.find((x) => x.id === id);
    if (v && pan) this.map.panTo([v.lat, v.lon]);
    this.vehicles.schedule();
  }

  /** Called after each drawing of the vehicles (the benchmark's probe). */
  set onDraw(f) {
    this.vehicles.onDraw = f;
  }

  invalidate() {
    this.map.invalidateSize();
  }
}
