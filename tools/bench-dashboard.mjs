// The measuring half of tools/bench-dashboard (see there).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const require = createRequire(`${resolve(process.env.NODE_PATH)}/`);
const { chromium } = require('playwright-core');
const base = process.env.BENCH_BASE;
const runs = Number(process.env.BENCH_RUNS);
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${process.env.BENCH_PID}/status`, 'utf8'))[1]);

const overviewAssets = ['/', '/app.css', '/app.js', '/ui.js', '/overview.js', '/vendor/preact.mjs', '/vendor/hooks.mjs',
  '/vendor/htm.mjs', '/vendor/uPlot.js', '/vendor/uPlot.css'];
const allAssets = [...overviewAssets, '/images.js', '/volumes.js', '/networks.js', '/servers.js', '/identity.js',
  '/vendor/xterm.js', '/vendor/xterm.css'];

async function gzBytes(list) {
  let n = 0;
  for (const p of list) {
    const r = await fetch(`${base}/dashboard${p}`, { headers: { 'Accept-Encoding': 'gzip' } });
    if (r.headers.get('content-encoding') !== 'gzip') throw new Error(`${p}: not gzip`);
    n += Number(r.headers.get('content-length'));
    await r.arrayBuffer();
  }
  return n;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/dashboard/`);
  await page.getByLabel('User').fill('admin');
  await page.getByLabel('Password').fill(process.env.BENCH_PASSWORD);
  await page.getByLabel('Project').fill('admin');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('CPU busy', { exact: true }).first().waitFor();
  await page.close();
  const rss0 = rssKiB();
  const fcp = [], ready = [];
  for (let i = 0; i < runs; i++) {
    const p = await ctx.newPage();
    const cdp = await ctx.newCDPSession(p);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const t = Date.now();
    await p.goto(`${base}/dashboard/#/overview`);
    await p.getByText('CPU busy', { exact: true }).first().waitFor();
    ready.push(Date.now() - t);
    fcp.push(await p.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1));
    await p.waitForTimeout(3200); // one more summary poll
    await p.close();
  }
  for (let i = 0; i < 500; i++) await gzBytes([allAssets[i % allAssets.length]]);
  const rss1 = rssKiB();
  await browser.close();
  const gzAll = await gzBytes(allAssets), gzOverview = await gzBytes(overviewAssets);
  console.log(`overview first-contentful-paint: median ${median(fcp).toFixed(0)} ms, worst ${Math.max(...fcp).toFixed(0)} ms (${runs} loads, empty cache)`);
  console.log(`overview with live host figures: median ${median(ready)} ms, worst ${Math.max(...ready)} ms`);
  console.log(`assets gzipped: all ${(gzAll / 1024).toFixed(1)} KiB, the overview's ${(gzOverview / 1024).toFixed(1)} KiB`);
  console.log(`picostackd RSS: ${rss0} KiB after login and one load, ${rss1} KiB after ${runs} loads + 500 asset fetches: +${rss1 - rss0} KiB`);
}

main().catch((e) => { console.error(e); process.exit(1); });
