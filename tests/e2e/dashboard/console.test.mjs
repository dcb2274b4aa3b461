// The server pages with a real guest (e2e-dashboard-console starts the
// cloud): launch from the form with user data that puts a shell on the
// serial console, wait for ACTIVE and the guest's "ready", type into the
// live console and read the answer, delete the server.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(`${path.resolve(process.env.NODE_PATH)}/`);
const { chromium } = require('playwright-core');
const base = process.env.PICOSTACK_BASE;
const shots = process.env.PICOSTACK_SHOTS;
const t0 = Date.now();
const step = (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}`);
const USER_DATA = `#!/bin/sh
setsid /bin/busybox sh -c 'exec /bin/busybox sh -i </dev/ttyS0 >/dev/ttyS0 2>&1' &
echo console-shell-started`;

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.PICOSTACK_CHROMIUM, args: ['--no-sandbox'] });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('dialog', (d) => d.accept());
  try {
    await page.goto(`${base}/dashboard/#/servers`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill(process.env.PICOSTACK_ADMIN_PASSWORD);
    await page.getByLabel('Project').fill('admin');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Launch server' }).waitFor();
    step('launch vm1');
    await page.getByLabel('Server name').fill('vm1');
    await page.getByLabel('Image', { exact: true }).selectOption({ label: 'dash-root' });
    await page.getByLabel('Flavor').selectOption({ label: 'dash.tiny' });
    await page.getByLabel('Network').selectOption({ label: 'dash-net' });
    await page.getByLabel('User data').fill(USER_DATA);
    await page.getByRole('button', { name: 'Launch' }).click();
    const row = page.locator('tr').filter({ hasText: 'vm1' });
    await row.getByTestId('server-status').filter({ hasText: /^ACTIVE$/ }).waitFor({ timeout: 600000 });
    step('vm1 ACTIVE; waiting for its user data to start the shell');
    await row.getByRole('button', { name: 'Log vm1' }).click();
    await page.locator('pre.log').filter({ hasText: 'console-shell-started' }).waitFor({ timeout: 600000 });
    await page.getByRole('button', { name: 'Close log' }).click();
    step('console: type echo $((6*7))');
    await row.getByRole('button', { name: 'Console vm1' }).click();
    await page.getByText('(connected)').waitFor({ timeout: 60000 });
    const term = page.getByTestId('console');
    await term.click();
    // Until the shell answers (the first keys may reach it before its prompt).
    for (let i = 0; i < 20; i++) {
      await page.keyboard.type('echo $((6*7))\r', { delay: 20 });
      try {
        await page.waitForFunction(() => /(^|\n)\s*42\s*(\n|$)/m.test(
          [...document.querySelectorAll('[data-testid=console] .xterm-rows > div')].map((d) => d.textContent).join('\n')), null, { timeout: 15000 });
        break;
      } catch (e) {
        if (i === 19) throw new Error('the console never answered 42');
      }
    }
    await page.screenshot({ path: path.join(shots, 'console.png') });
    step('read 42; delete vm1');
    await page.getByRole('button', { name: 'Close console' }).click();
    await row.getByRole('button', { name: 'Delete vm1' }).click();
    await row.waitFor({ state: 'detached', timeout: 300000 });
    console.log(`PASS (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  } catch (e) {
    console.error(`FAIL: ${e.message}`);
    await page.screenshot({ path: path.join(shots, 'console-failure.png') }).catch(() => {});
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main();
