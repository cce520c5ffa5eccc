// Plays a node's HLS playlist with hls.js (low-latency mode) in Debian's headless
// Chromium, driven by playwright-core. Exit 0 when the video's currentTime
// advanced by at least MIN_SECONDS; prints one JSON line either way.
//   node hls_play.mjs PLAYLIST_URL [SCREENSHOT.png] [MIN_SECONDS]
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, screenshot, minArg] = process.argv.slice(2);
const minSeconds = Number(minArg || 3);
const here = dirname(fileURLToPath(import.meta.url));
const profile = mkdtempSync(join(tmpdir(), 'os-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
let result = { ok: false };
try {
  const page = browser.pages()[0] || await browser.newPage();
  // The player page is on the node's own origin (as a page its operator serves
  // would be): nodes send no CORS headers, so a page elsewhere cannot read them.
  const player = new URL('/openstreaming-test-player.html', url).href;
  await page.route(player, (r) => r.fulfill({
    contentType: 'text/html',
    body: '<html><body style="margin:0;background:#000"><video id="v" muted playsinline style="width:640px"></video></body></html>',
  }));
  await page.goto(player);
  await page.addScriptTag({ path: join(here, 'node_modules/hls.js/dist/hls.min.js') });
  result = await page.evaluate(async ({ url, minSeconds }) => {
    const video = document.getElementById('v');
    if (!window.Hls || !window.Hls.isSupported()) return { ok: false, error: 'hls.js not supported here' };
    const hls = new window.Hls({ lowLatencyMode: true });
    const errors = [];
    hls.on(window.Hls.Events.ERROR, (_, d) => { if (d.fatal) errors.push(d.type + ':' + d.details); });
    hls.loadSource(url);
    hls.attachMedia(video);
    await new Promise((resolve) => hls.on(window.Hls.Events.MANIFEST_PARSED, resolve));
    await video.play();
    const start = Date.now();
    let first = null;
    while (Date.now() - start < 30000) {
      await new Promise((r) => setTimeout(r, 250));
      if (errors.length) return { ok: false, error: errors.join(',') };
      if (first === null && video.currentTime > 0) first = video.currentTime;
      if (first !== null && video.currentTime - first >= minSeconds) {
        return { ok: true, advanced_s: video.currentTime - first, latency_s: hls.latency, width: video.videoWidth,
                 height: video.videoHeight, parts: hls.levels.length };
      }
    }
    return { ok: false, error: 'currentTime did not advance', currentTime: video.currentTime };
  }, { url, minSeconds });
  if (screenshot) await page.screenshot({ path: screenshot });
} catch (e) {
  result = { ok: false, error: String(e) };
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
