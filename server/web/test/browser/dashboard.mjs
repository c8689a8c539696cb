// The dashboard in Debian's Chromium (headless), driven by playwright-core, against a fleetd
// that tests/web/dashboard.sh started with a small fleet driven by fleetsim:
//   BASE        the API's address (http://127.0.0.1:PORT)
//   ADMIN       name:password of an admin; DISPATCHER of a dispatcher limited to group "north"
//   NORTH, ALL  the registrations the limited dispatcher sees, and every one (comma-separated)
//   LATE        the registration that runs late (its late event appears on the board)
//   SHOTS       the folder for the screenshots
//   CHROMIUM    the browser (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { parseCsv } from '../../src/csv.js';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const base = env('BASE');
const [adminName, adminPassword] = env('ADMIN').split(':');
const [dispName, dispPassword] = env('DISPATCHER').split(':');
const all = env('ALL').split(',');
const north = env('NORTH').split(',');
const late = env('LATE');
const shots = env('SHOTS');
const from = env('FROM');
const to = env('TO');
const arrivalDay = env('ARRIVAL_DAY');
mkdirSync(shots, { recursive: true });

let failures = 0;
let current = null; // the page in use, for a screenshot when a step fails
const ok = (what) => console.log('ok   ' + what);
function check(condition, what) {
  if (!condition) {
    failures++;
    console.log('FAIL: ' + what);
    throw new Error(what);
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const problems = [];
async function open(viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  current = page;
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  // A 401 before log-in is how the page learns it must ask for one (Chromium logs it).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('status of 401')) problems.push('console: ' + m.text());
  });
  page.on('requestfailed', (r) => {
    if (!r.url().startsWith(base)) problems.push('a request left the service: ' + r.url());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) {
      problems.push('a request left the service: ' + r.url());
    }
  });
  return { context, page };
}
async function login(page, name, password) {
  await page.goto(base + '/');
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('header .status', { timeout: 10000 });
}
const boardRegistrations = (page) =>
  page.$$eval('table.board tr[data-vehicle] td:first-child', (cells) => cells.map((c) => c.textContent).sort());

try {
  // A wrong password is refused on the page, with the reason.
  {
    const { context, page } = await open({ width: 1280, height: 800 });
    await page.goto(base + '/');
    await page.fill('input[name=name]', adminName);
    await page.fill('input[name=password]', 'not the password');
    await page.click('button[type=submit]');
    await page.waitForSelector('.login .error:has-text("does not match")', { timeout: 5000 });
    ok('a wrong password is refused with its reason');
    await page.screenshot({ path: `${shots}/login-refused.png` });
    await context.close();
  }

  // The admin: the map shows the simulated vehicles, the board their states, the late one's
  // event appears and is acknowledged with a comment.
  const { context, page } = await open({ width: 1280, height: 800 });
  await login(page, adminName, adminPassword);
  await page.waitForSelector('.status[data-status=live]', { timeout: 10000 });
  ok('logged in; the live stream is connected');
  await page.waitForFunction((n) => document.querySelectorAll('table.board tr[data-vehicle]').length >= n,
    all.length, { timeout: 10000 });
  check(JSON.stringify(await boardRegistrations(page)) === JSON.stringify([...all].sort()),
    'the board lists every vehicle: ' + (await boardRegistrations(page)));
  // The vehicles are drawn on the map's canvas where their fixes are.
  await page.waitForFunction((n) => Number(document.querySelector('canvas.vehicle-layer')?.dataset.drawn) >= n,
    all.length, { timeout: 15000 });
  ok(`the map draws the ${all.length} simulated vehicles`);
  // They move: the canvas is drawn again as fixes arrive.
  const firstDraws = Number(await page.$eval('canvas.vehicle-layer', (c) => c.dataset.draws));
  await page.waitForFunction((n) => Number(document.querySelector('canvas.vehicle-layer').dataset.draws) > n + 2,
    firstDraws, { timeout: 15000 });
  ok('the map is redrawn as positions stream in');
  // The late vehicle: its state on the board, then its late event in the open deviations.
  const lateRow = `table.board tr[data-vehicle]:has(td:first-child:text-is("${late}"))`;
  await page.waitForSelector(`${lateRow}[data-state=late]`, { timeout: 60000 });
  ok(`${late} is shown late on the board`);
  const lateEvent = `ul.events li:has(strong:text-is("${late}")):has(.event-kind:text-is("late"))`;
  await page.waitForSelector(lateEvent, { timeout: 60000 });
  ok(`${late}'s late event is among the open deviations`);
  // BUS-1 and BUS-2 run five minutes apart in the timetable but together on the road: one of
  // them is marked bunching behind the other.
  await page.waitForSelector('table.board td.headway .headway-flag.bunching', { timeout: 30000 });
  ok('bunching on route 1 is marked on the board: ' +
    (await page.$eval('table.board td.headway .headway-flag.bunching', (f) => f.parentElement.title)));
  await page.screenshot({ path: `${shots}/board-1280x800.png` });
  page.once('dialog', (d) => d.accept('Traffic jam at the bridge, told the driver'));
  await page.click(`${lateEvent} button:text-is("Acknowledge")`);
  await page.waitForSelector(`${lateEvent}.acknowledged:has-text("Traffic jam at the bridge")`, { timeout: 10000 });
  ok('the event is acknowledged with a comment');
  // Selecting a vehicle shows its details.
  await page.click(lateRow);
  await page.waitForSelector(`.detail h2:has-text("${late}")`, { timeout: 5000 });
  ok('a vehicle selected on the board shows its details');
  // Its track and speed for the last two hours: the line on the map, the speed chart with as
  // many fixes as the API's track, the replay moving along it.
  await page.click('.detail a:text-is("Track and speed")');
  await page.waitForSelector('svg.speed path.speed-line', { timeout: 10000, state: 'attached' });
  const charted = Number(await page.$eval('svg.speed path.speed-line', (p) => p.dataset.points));
  const fixes = await page.evaluate(async (reg) => {
    const v = [...window.fleetBoard.fleet.vehicles.values()].find((x) => x.registration === reg);
    const to = new Date(Date.now() + 60000).toISOString();
    const from = new Date(Date.now() - 2 * 3600 * 1000).toISOString();
    return (await (await fetch(`/api/vehicles/${v.id}/track?from=${from}&to=${to}`)).json()).fixes;
  }, late);
  check(charted >= 3 && Math.abs(charted - fixes) <= 2, `the chart holds the track's fixes: ${charted} of ${fixes}`);
  await page.fill('input[aria-label=replay]', String(Math.floor(charted / 2)));
  await page.waitForSelector('.replay-clock:has-text("km/h")', { timeout: 5000 });
  ok(`${late}'s track and speed: ${charted} fixes charted, replayed on the map`);
  await page.screenshot({ path: `${shots}/track-1280x800.png` });
  await page.click('a:text-is("Back to the board")');
  await page.waitForSelector('table.board', { timeout: 5000 });

  // The filter: only the late ones.
  await page.selectOption('select[aria-label=state]', 'late');
  check(JSON.stringify(await boardRegistrations(page)) === JSON.stringify([late]),
    'the state filter leaves the late vehicle: ' + (await boardRegistrations(page)));
  await page.selectOption('select[aria-label=state]', '');
  ok('the board filters by state');
  // A notice drawn on the map around route 1: BUS-1's driver D1 (native terminal) is found,
  // it is sent, delivered and read, live in the notice's table.
  await page.click('nav a[data-tab=notices]');
  await page.waitForSelector('form.notice-form', { timeout: 5000 });
  await page.click('button:text-is("Draw area")');
  const box = await page.$eval('#map', (m) => { const r = m.getBoundingClientRect(); return { x: r.left, y: r.top }; });
  const corners = await page.evaluate(() => [[55.7485, 37.598], [55.7485, 37.650], [55.7515, 37.650], [55.7515, 37.598]]
    .map((ll) => window.fleetBoard.map.map.latLngToContainerPoint(ll)));
  for (const p of corners) await page.mouse.click(box.x + p.x, box.y + p.y);
  await page.waitForSelector('.area-state:text-is("Polygon of 4 points")', { timeout: 5000 });
  await page.selectOption('select[name=category]', 'closure');
  await page.selectOption('select[name=severity]', '3');
  await page.fill('input[name=title]', 'Bridge closed');
  await page.fill('input[name=short_text]', 'Bridge on route 1 closed: detour via Elm St');
  await page.click('button:text-is("Send notice")');
  await page.waitForSelector('.notice-detail h3:has-text("Bridge closed")', { timeout: 10000 });
  await page.waitForSelector('table.deliveries tr[data-driver=D1][data-state=read]', { timeout: 20000 });
  const drivers = await page.$$eval('table.deliveries tr[data-driver]', (rows) => rows.map((r) => r.dataset.driver));
  check(JSON.stringify(drivers) === '["D1"]', 'the notice concerns exactly D1: ' + drivers);
  ok('a notice drawn on the map reaches BUS-1\'s terminal and turns to read, live');
  await page.screenshot({ path: `${shots}/notice-read-1280x800.png` });
  // A point is not an area: the page says so, and sends nothing.
  await page.setInputFiles('input[aria-label="area file"]', {
    name: 'point.geojson', mimeType: 'application/geo+json',
    buffer: Buffer.from(JSON.stringify({ type: 'Point', coordinates: [37.6, 55.75] })),
  });
  await page.waitForSelector('.area-state:has-text("a Point is not an area")', { timeout: 5000 });
  ok('a file that is not an area is refused with the reason');
  await page.click('nav a[data-tab=board]');

  // A message to the driver of CAB-9 with two canned replies: the terminal answers with the
  // second, and the reply appears in the table without a reload.
  await page.click('nav a[data-tab=messages]');
  await page.waitForSelector('.messages-panel form', { timeout: 5000 });
  await page.selectOption('select[aria-label="to whom"]', 'vehicles');
  await page.selectOption('select[aria-label=recipient]', 'CAB-9');
  await page.fill('input[name=message]', 'Call the depot when free');
  await page.fill('input[name=replies]', 'Yes, Running late');
  await page.click('.messages-panel button:text-is("Send")');
  await page.waitForSelector('.messages-panel table.deliveries tr[data-driver=D9] td.reply:has-text("Running late")', { timeout: 20000 });
  ok('a message to the driver of CAB-9 is answered "Running late", live');
  await page.screenshot({ path: `${shots}/message-reply-1280x800.png` });

  // The accountants' table: the period's waybills, the one with a discrepancy marked and
  // explained; the CSV download holds the rows the table shows.
  await page.click('nav a[data-tab=waybills]');
  await page.fill('.waybills-view input[aria-label=from]', from);
  await page.fill('.waybills-view input[aria-label=to]', to);
  await page.click('.waybills-view button:text-is("Show")');
  await page.waitForSelector('table.waybills tr[data-number="ACME/1"]', { timeout: 10000 });
  check(await page.$eval('table.waybills tr[data-number="ACME/1"]', (r) => r.classList.contains('discrepancy')),
    'the waybill with a discrepancy is marked');
  const explained = await page.$eval('table.waybills tr[data-number="ACME/1"] td.explain', (c) => c.textContent);
  check(explained.length > 10, 'the discrepancy is explained: ' + explained);
  const shown = await page.$$eval('table.waybills tr:not(.explain-row)', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a:text-is("Download CSV")')]);
  await download.saveAs(`${shots}/waybills.csv`);
  const csv = parseCsv(readFileSync(`${shots}/waybills.csv`, 'utf8'));
  check(JSON.stringify(csv) === JSON.stringify(shown), 'the CSV holds the rows of the table: ' +
    JSON.stringify(csv).slice(0, 300) + ' vs ' + JSON.stringify(shown).slice(0, 300));
  ok(`the waybill table marks the discrepancy ("${explained.slice(0, 60)}...") and downloads its rows as CSV`);
  // One waybill: its reconciliation with the fuel chart.
  await page.click('table.waybills tr[data-number="ACME/1"] td:first-child');
  await page.waitForSelector('.waybill-detail svg.fuel', { timeout: 10000 });
  const facts = await page.$eval('.waybill-detail dl', (d) => d.textContent);
  check(facts.includes('120 km by odometer, 0.0 km by GPS') && facts.includes('TRUCK-1'), 'the waybill details: ' + facts);
  ok('a waybill opens with its reconciliation and fuel chart');
  await page.screenshot({ path: `${shots}/waybills-1280x800.png`, fullPage: true });

  // Punctuality: route 1's hour shows 50 % (2 of the 4 arrivals on time).
  await page.click('nav a[data-tab=punctuality]');
  await page.fill('.punctuality-view input[aria-label=day]', arrivalDay);
  await page.click('.punctuality-view button:text-is("Show")');
  await page.waitForSelector('.chart [data-route-total=R1]', { timeout: 10000 });
  // The engine adds the arrivals it sees meanwhile (the buses leave S0): the chart must show
  // what the API answered it, and at least the four made above, one of them late.
  const total = await page.$eval('.chart [data-route-total=R1]', (t) => t.textContent);
  const r1 = (await page.evaluate(() => window.fleetPunctuality.answer.rows)).filter((r) => r.route_code === 'R1');
  const arrivals = r1.reduce((n, r) => n + r.arrivals, 0);
  const onTime = r1.reduce((n, r) => n + r.on_time, 0);
  check(arrivals >= 4 && r1.reduce((n, r) => n + r.late, 0) >= 1, 'route 1 has the arrivals made: ' + JSON.stringify(r1));
  check(total === `${Math.round((100 * onTime) / arrivals)} % of ${arrivals}`, `route 1's total: ${total} for ${JSON.stringify(r1)}`);
  ok(`the punctuality chart shows route 1: ${total} on time`);
  await page.screenshot({ path: `${shots}/punctuality-1280x800.png` });

  // The journal carries the acknowledgement; a note is added.
  await page.click('nav a[data-tab=journal]');
  await page.waitForSelector('table.journal tbody tr', { timeout: 5000 });
  await page.fill('textarea[aria-label=note]', 'Called the depot about the bridge');
  await page.fill('input[aria-label=counterpart]', 'North depot');
  await page.click('form.note button[type=submit]');
  await page.waitForSelector('table.journal td:has-text("Called the depot about the bridge")', { timeout: 5000 });
  ok('a note is added to the journal and listed');
  await page.screenshot({ path: `${shots}/journal-1280x800.png` });
  await page.click('nav a[data-tab=board]');
  // The stream reconnects by itself: the page goes offline, then comes back live.
  await page.evaluate(() => window.fleetBoard.socket.socket.close());
  await page.waitForSelector('.status[data-status=reconnecting]', { timeout: 5000 });
  await page.waitForSelector('.status[data-status=live]', { timeout: 10000 });
  check(await page.evaluate(() => window.fleetBoard.socket.attempt === 0), 'the stream came back');
  ok('the live stream reconnects by itself after a drop');
  await page.click('header button:text-is("Log out")');
  await page.waitForSelector('.login', { timeout: 5000 });
  ok('logged out');
  await context.close();

  // Tablet width: the map above the board, nothing cut off.
  {
    const { context, page } = await open({ width: 820, height: 1180 });
    await login(page, adminName, adminPassword);
    await page.waitForFunction((n) => document.querySelectorAll('table.board tr[data-vehicle]').length >= n,
      all.length, { timeout: 10000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    check(!overflow, 'the page fits the tablet width');
    await page.screenshot({ path: `${shots}/board-tablet-820x1180.png` });
    ok('the board works at tablet width');
    await context.close();
  }

  // A dispatcher limited to group north sees only its vehicles, and may acknowledge.
  {
    const { context, page } = await open({ width: 1280, height: 800 });
    await login(page, dispName, dispPassword);
    await page.waitForSelector('.status[data-status=live]', { timeout: 10000 });
    await page.waitForFunction((n) => document.querySelectorAll('table.board tr[data-vehicle]').length >= n,
      north.length, { timeout: 10000 });
    await page.waitForTimeout(500);
    check(JSON.stringify(await boardRegistrations(page)) === JSON.stringify([...north].sort()),
      'the limited dispatcher sees only north: ' + (await boardRegistrations(page)));
    check(await page.$$eval('nav a[data-tab=waybills]', (a) => a.length) === 0,
      'the accountants\' table is not offered to a dispatcher');
    const drawn = Number(await page.$eval('canvas.vehicle-layer', (c) => c.dataset.drawn));
    check(drawn <= north.length, `the limited dispatcher's map draws only north: ${drawn}`);
    await page.screenshot({ path: `${shots}/board-limited-dispatcher.png` });
    ok(`a dispatcher limited to north sees only ${north.join(', ')}`);
    await context.close();
  }
  check(problems.length === 0, 'the pages ran without errors: ' + problems.join('; '));
  ok('no page error, no request outside the service');
} catch (e) {
  if (failures === 0) console.log('FAIL: ' + e.message);
  failures++;
  if (current) {
    await current.screenshot({ path: `${shots}/failure.png` }).catch(() => {});
    console.log(`     the page at the failure: ${shots}/failure.png; its problems: ${problems.join('; ') || 'none'}`);
  }
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
