// How the dashboard writes times, deviations and states. Pure functions: tested by vitest
// (test/format.test.js), used by every view.

/** The schedule states of the API (LiveVehicle.adherence), worst first: the board's order. */
export const STATES = ['off_route', 'late', 'early', 'on_time', 'unknown', 'unassigned'];

export const STATE_LABELS = {
  off_route: 'off route',
  late: 'late',
  early: 'early',
  on_time: 'on time',
  unknown: 'no fix on trip',
  unassigned: 'no assignment',
};

/** Marker and badge colours by state (the legend shows the same). */
export const STATE_COLOURS = {
  off_route: '#7b1fa2',
  late: '#c62828',
  early: '#e65100',
  on_time: '#2e7d32',
  unknown: '#78909c',
  unassigned: '#455a64',
};

/** Event kinds as an operator reads them. */
export const EVENT_LABELS = {
  late: 'late',
  early: 'early',
  early_departure: 'early departure',
  off_route: 'off route',
  missed_stop: 'missed stop',
  not_departed: 'not departed',
  unplanned_stop: 'unplanned stop',
  long_dwell: 'long dwell',
  overspeed: 'speeding',
  signal_lost: 'signal lost',
  moving_unassigned: 'moving without assignment',
  no_vehicle_data: 'no data',
};

/** An event kind as words; an unknown kind as it is, underscores as spaces. */
export function eventLabel(kind) {
  return EVENT_LABELS[kind] || String(kind).replaceAll('_', ' ');
}

const pad = (n) => String(n).padStart(2, '0');

/** A schedule deviation in seconds (positive: late) as "+4:05", "−1:20", "0:00"; "—" unknown. */
export function formatDeviation(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  const a = Math.abs(s);
  const text = a >= 3600
    ? `${Math.floor(a / 3600)}:${pad(Math.floor((a % 3600) / 60))}:${pad(a % 60)}`
    : `${Math.floor(a / 60)}:${pad(a % 60)}`;
  if (s > 0) return '+' + text;
  if (s < 0) return '\u2212' + text;
  return text;
}

/** The words for a deviation: "4 min late", "1 min early", "on time". */
export function describeDeviation(seconds, window = { early: 60, late: 300 }) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'unknown';
  const min = Math.round(Math.abs(seconds) / 60);
  if (seconds > window.late) return `${min} min late`;
  if (seconds < -window.early) return `${min} min early`;
  return 'on time';
}

/** A duration in seconds as "45 s", "12 min", "2 h 05 min". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

/** An ISO time as the operator's wall clock ("14:05:09"), in `timeZone` (default: the browser's). */
export function formatClock(iso, timeZone) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleTimeString('en-GB', { hour12: false, timeZone });
}

/** An ISO time as date and clock ("2026-12-03 14:05"), in `timeZone`. */
export function formatDateTime(iso, timeZone) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hour12: false,
    }).formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** How long ago `iso` was, from `now` (ms): "8 s ago", "3 min ago"; "—" without a time. */
export function formatAge(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 3600) return formatDuration(s) + ' ago';
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A speed in km/h as "42 km/h"; "—" unknown. */
export function formatSpeed(kmh) {
  if (kmh === null || kmh === undefined || !Number.isFinite(kmh)) return '—';
  return `${Math.round(kmh)} km/h`;
}

/** An API error (or any exception) as one line for the operator. */
export function errorText(error) {
  if (error && error.code && error.message) return `${error.message} (${error.code})`;
  return String((error && error.message) || error);
}

/** A date as the value of an <input type="date"> (the browser's zone). */
export function localDateValue(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}

/** A date as the value of an <input type="datetime-local"> (the browser's zone). */
export function localInputValue(date) {
  const pad2 = (n) => String(n).padStart(2, '0');
  return `${localDateValue(date)}T${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
}
