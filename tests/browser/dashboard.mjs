// The demo dashboard in Debian's headless Chromium (playwright-core): it loads,
// the player's video advances by MIN_SECONDS, the mesh graph shows NODES nodes,
// and clicking a node opens its panel with its empathy scores. Prints one JSON
// line; exit 0 only when every check passed.
//   node dashboard.mjs DASHBOARD_URL SCREENSHOT.png NODES [MIN_SECONDS]
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, screenshot, nodesArg, minArg] = process.argv.slice(2);
const expectNodes = Number(nodesArg);
const minSeconds = Number(minArg || 5);
const profile = mkdtempSync(join(tmpdir(), 'os-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
const result = { ok: false };
try {
  const page = browser.pages()[0] || await browser.newPage();
  const external = [];
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => consoleLines.push('pageerror: ' + e.message));
  result.console = consoleLines;
  page.on('request', (r) => { const u = new URL(r.url()); if ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '127.0.0.1') external.push(r.url()); });
  await page.goto(url);
  // The graph: every node drawn.
  await page.waitForFunction((n) => document.querySelectorAll('#mesh .node').length === n, expectNodes, { timeout: 30000 });
  result.nodes = await page.evaluate(() => document.querySelectorAll('#mesh .node').length);
  result.routes = await page.evaluate(() => document.querySelectorAll('#mesh .edge').length);
  // The player: currentTime advances.
  await page.waitForFunction(() => document.getElementById('video').currentTime > 0, null, { timeout: 40000 });
  const t0 = await page.evaluate(() => document.getElementById('video').currentTime);
  await page.waitForFunction((a) => document.getElementById('video').currentTime - a.t0 >= a.min, { t0, min: minSeconds },
                             { timeout: (minSeconds + 25) * 1000 });
  result.advanced_s = (await page.evaluate(() => document.getElementById('video').currentTime)) - t0;
  // A node panel: click a relay; its empathy table appears.
  await page.click('#mesh .node[data-name="relay1"] circle', { force: true });
  await page.waitForSelector('#node-panel:not(.hidden)', { timeout: 5000 });
  await page.waitForFunction(() => document.getElementById('panel-body').textContent.includes('Empathy'), null, { timeout: 10000 });
  result.panel = await page.evaluate(() => document.getElementById('panel-title').textContent);
  await page.screenshot({ path: screenshot });
  result.external_requests = external;
  result.ok = result.nodes === expectNodes && result.advanced_s >= minSeconds && result.panel.startsWith('relay1') && external.length === 0;
} catch (e) {
  result.error = String(e);
  try { await browser.pages()[0].screenshot({ path: screenshot }); } catch (_) { /* the page is gone */ }
  try { result.video = await browser.pages()[0].evaluate(() => { const v = document.getElementById('video'); const b = []; for (let i = 0; i < v.buffered.length; ++i) b.push([v.buffered.start(i), v.buffered.end(i)]); return { t: v.currentTime, rs: v.readyState, paused: v.paused, buffered: b, err: v.error && v.error.message, src: v.src }; }); } catch (_) {}
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
