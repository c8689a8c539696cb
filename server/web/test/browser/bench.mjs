// The dashboard's benchmark in headless Chromium (run by tools/bench/dashboard): the page with
// a fleet of VEHICLES, first idle (the baseline: nothing streams), then while every vehicle
// reports every few seconds. Prints the frame times (requestAnimationFrame intervals and the
// main thread's long tasks) of both phases and the time from a fix's commit in fleetd to its
// marker being drawn.
//   BASE, ADMIN (name:password), VEHICLES, SECONDS, PHASE_FILE (the phase is "idle" until the
//   shell writes "load" into it), SHOTS
import { chromium } from 'playwright-core';
import { readFileSync, existsSync } from 'node:fs';

const base = process.env.BASE;
const [name, password] = process.env.ADMIN.split(':');
const vehicles = Number(process.env.VEHICLES);
const seconds = Number(process.env.BENCH_SECONDS || 30);
const phaseFile = process.env.PHASE_FILE;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', ...(process.env.CHROMIUM_ARGS || '').split(' ').filter(Boolean)],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
page.on('pageerror', (e) => console.log('page error: ' + e.message));
await page.goto(base + '/');
await page.fill('input[name=name]', name);
await page.fill('input[name=password]', password);
await page.click('button[type=submit]');
await page.waitForSelector('.status[data-status=live]', { timeout: 30000 });
await page.waitForFunction((n) => window.fleetBoard && window.fleetBoard.fleet.vehicles.size >= n, vehicles, { timeout: 60000 });
console.log(`dashboard: the page holds ${await page.evaluate(() => window.fleetBoard.fleet.vehicles.size)} vehicles`);

/** Frame intervals and long tasks for `s` seconds, in the page. */
async function measure(s) {
  return page.evaluate(async (ms) => {
    window.fleetProbe = { pending: [], latencies: [], timings: {} };
    const frames = [];
    const long = [];
    const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); });
    try { observer.observe({ type: 'longtask', buffered: false }); } catch { /* not offered */ }
    const work = [];
    const channel = new MessageChannel();
    let started = 0;
    channel.port1.onmessage = () => work.push(performance.now() - started);
    let last = performance.now();
    const end = last + ms;
    await new Promise((resolve) => {
      const tick = (t) => {
        frames.push(t - last);
        last = t;
        started = performance.now();
        channel.port2.postMessage(0);
        if (t < end) requestAnimationFrame(tick); else resolve();
      };
      requestAnimationFrame(tick);
    });
    observer.disconnect();
    const { latencies, timings } = window.fleetProbe;
    window.fleetProbe = null;
    return { frames: frames.slice(1), long, latencies, timings, work };
  }, s * 1000);
}
const q = (values, p) => {
  if (!values.length) return NaN;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))];
};
const report = (label, m) => {
  const f = m.frames;
  console.log(`${label}: frames=${f.length} frame_p50_ms=${q(f, 0.5).toFixed(1)} frame_p90_ms=${q(f, 0.9).toFixed(1)} ` +
    `frame_p99_ms=${q(f, 0.99).toFixed(1)} long_tasks=${m.long.length} long_task_max_ms=${m.long.length ? Math.max(...m.long).toFixed(0) : 0}` +
    (m.latencies.length ? ` fixes_drawn=${m.latencies.length} commit_to_marker_p50_ms=${q(m.latencies, 0.5)} ` +
      `p99_ms=${q(m.latencies, 0.99)} max_ms=${Math.max(...m.latencies)}` : ''));
  const w = m.work;
  console.log(`${label}: frame_work_p50_ms=${q(w, 0.5).toFixed(2)} p90_ms=${q(w, 0.9).toFixed(2)} p99_ms=${q(w, 0.99).toFixed(2)} ` +
    Object.entries(m.timings).map(([k, v]) => `${k}: n=${v.length} p50=${q(v, 0.5).toFixed(2)} max=${Math.max(...v).toFixed(1)}`).join(' '));
  return { p50: q(w, 0.5), interval: q(f, 0.5), p99lat: q(m.latencies, 0.99) };
};
// The map's drawing of the whole fleet, alone: what one redraw costs the page.
const drawCost = await page.evaluate(() => {
  const layer = window.fleetBoard.map.vehicles;
  const map = window.fleetBoard.map.map;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) layer.paint();
  const t1 = performance.now();
  for (let i = 0; i < 20; i++) for (const v of layer.vehicles) map.latLngToContainerPoint([v.lat, v.lon]);
  const t2 = performance.now();
  return { paint: (t1 - t0) / 20, project: (t2 - t1) / 20, n: layer.vehicles.length };
});
console.log(`dashboard: one redraw of ${drawCost.n} vehicles ${drawCost.paint.toFixed(2)} ms (of which projecting ${drawCost.project.toFixed(2)} ms)`);
const idle = report('idle (baseline)', await measure(Math.min(10, seconds)));
// The shell starts the load and says so.
while (!(existsSync(phaseFile) && readFileSync(phaseFile, 'utf8').trim() === 'load')) await new Promise((r) => setTimeout(r, 200));
await new Promise((r) => setTimeout(r, 5000)); // the first reports of every vehicle
const load = report('updating', await measure(seconds));
await page.screenshot({ path: `${process.env.SHOTS}/bench-${vehicles}-vehicles.png` });
console.log(`dashboard: median frame time ${load.p50.toFixed(2)} ms updating (target <= 16), ` +
  `${(load.p50 / idle.p50).toFixed(2)} x the idle page's ${idle.p50.toFixed(2)} ms; ` +
  `median frame interval ${load.interval.toFixed(1)} ms (idle ${idle.interval.toFixed(1)}); ` +
  `commit to marker p99 ${load.p99lat} ms (target <= 500)`);
await browser.close();
process.exit(load.p50 <= 16 && load.p99lat <= 500 ? 0 : 1);
