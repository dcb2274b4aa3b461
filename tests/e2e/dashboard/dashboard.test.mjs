// The dashboard in a real browser (Chromium via playwright-core) against
// the picostackd that e2e-dashboard started. Each step names what it
// checks; the first failure ends the run (exit 1) with a screenshot.
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';

const require = createRequire(`${path.resolve(process.env.NODE_PATH)}/`);
const { chromium } = require('playwright-core');

const base = process.env.PICOSTACK_BASE;
const shots = process.env.PICOSTACK_SHOTS;
const XSS = '<img src=x onerror=alert(1)>';
const t0 = Date.now();
let page;

function fail(msg) { throw new Error(msg); }
function step(name) { console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${name}`); }
async function shot(p, name) { await p.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true }); }

// The API directly (not through the browser), for setup and checks.
async function keystone(user, password, project) {
  const r = await fetch(`${base}/identity/v3/auth/tokens`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
      scope: { project: { name: project, domain: { name: 'Default' } } } } }),
  });
  if (r.status !== 201) fail(`login ${user}: ${r.status} ${await r.text()}`);
  return r.headers.get('X-Subject-Token');
}
async function call(token, method, p, body) {
  const r = await fetch(`${base}${p}`, { method, headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json', 'OpenStack-API-Version': 'compute 2.37' }, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text && text[0] === '{' ? JSON.parse(text) : null, text };
}

async function login(p, user, password, project) {
  await p.goto(`${base}/dashboard/`);
  await p.getByLabel('User').fill(user);
  await p.getByLabel('Password').fill(password);
  await p.getByLabel('Project').fill(project);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.getByRole('heading', { name: 'Overview' }).waitFor();
}

// A page that fails the test on any dialog but confirm() (accepted): an
// alert would be the XSS payload running.
function guard(p) {
  p.on('dialog', async (d) => {
    if (d.type() === 'confirm') return d.accept();
    await d.dismiss();
    console.error(`FAIL: a ${d.type()} dialog opened: ${d.message()}`);
    process.exitCode = 1;
  });
  p.on('pageerror', (e) => { console.error(`FAIL: page error: ${e.message}`); process.exitCode = 1; });
}

async function goto(p, hash, heading) {
  await p.goto(`${base}/dashboard/#/${hash}`);
  await p.getByRole('heading', { name: heading, exact: true }).waitFor();
}

// A table cell whose text is exactly text (the narrow layout's column
// labels are CSS ::before content, not text).
const escapeRe = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
function cell(scope, text) {
  return scope.locator('td').filter({ hasText: new RegExp(`^\\s*${escapeRe(text)}\\s*$`) }).first();
}

// The form titled `title` (its heading); the row of the table captioned
// `caption` that has a cell reading text.
const form = (p, title) => p.locator('form', { has: p.getByRole('heading', { name: title, exact: true }) });
const row = (p, text, caption = 'Volumes') => p.locator('table', { has: p.locator('caption', { hasText: new RegExp(`^${caption}$`) }) })
  .locator('tr', { has: cell(p, text) });
async function formError(p, title) {
  const msg = await form(p, title).getByRole('alert').textContent({ timeout: 10000 });
  if (!msg || /^HTTP /.test(msg)) fail(`${title}: no API message (${msg})`);
  console.log(`  ${title}: the API said: ${msg}`);
  return msg;
}
async function until(what, fn, ms = 60000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((ok) => setTimeout(ok, 250))) {
    const v = await fn();
    if (v) return v;
  }
  fail(`timed out waiting for ${what}`);
}

async function noXssElement(p, where) {
  const n = await p.locator('img[src="x"]').count();
  if (n) fail(`${where}: the XSS name became an <img> element`);
}

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.PICOSTACK_CHROMIUM, args: ['--no-sandbox'] });
  try {
    const admin = await keystone('admin', process.env.PICOSTACK_ADMIN_PASSWORD, 'admin');

    step('the session API refuses what it must');
    if ((await fetch(`${base}/dashboard/api/session`)).status !== 401) fail('GET session without cookie is not 401');
    if ((await fetch(`${base}/dashboard/api/session`, { method: 'POST' })).status !== 401) fail('POST session without token is not 401');
    if ((await fetch(`${base}/dashboard/nope.js`)).status !== 404) fail('an unknown asset is not 404');
    const huge = await fetch(`${base}/dashboard/api/session`, { headers: { Cookie: `a=b; picostack_session=${'A'.repeat(5000)}` } });
    if (huge.status !== 401) fail(`an oversized cookie got ${huge.status}`);
    const forged = await fetch(`${base}/network/v2.0/networks`, { headers: { Cookie: 'picostack_session=garbage;', 'X-Dashboard-CSRF': '0'.repeat(32) } });
    if (forged.status !== 401) fail(`a garbage cookie got ${forged.status}`);
    const idx = await fetch(`${base}/dashboard/`, { headers: { 'Accept-Encoding': 'gzip' } });
    if (!/script-src 'self'/.test(idx.headers.get('content-security-policy') || '')) fail('no CSP on the page');
    const etag = idx.headers.get('etag');
    if ((await fetch(`${base}/dashboard/`, { headers: { 'If-None-Match': etag } })).status !== 304) fail('ETag revalidation is not 304');

    const ctx = await browser.newContext({ viewport: { width: 360, height: 780 } });
    page = await ctx.newPage();
    guard(page);

    step('a wrong password shows Keystone\'s message');
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByLabel('Project').fill('admin');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'requires authentication' }).waitFor();
    await shot(page, 'login-error');

    step('log in');
    await login(page, 'admin', process.env.PICOSTACK_ADMIN_PASSWORD, 'admin');
    const cookie = (await ctx.cookies()).find((c) => c.name === 'picostack_session');
    if (!cookie || !cookie.httpOnly || cookie.sameSite !== 'Strict') fail(`session cookie ${JSON.stringify(cookie)}`);
    if (await page.evaluate(() => document.cookie.includes('picostack_session'))) fail('the page can read the token cookie');
    await page.getByText('CPU busy', { exact: true }).first().waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await page.waitForTimeout(3500); // two samples: the CPU chart has a line
    await shot(page, 'overview');

    step('set up (API): a kernel image and a server that ends in ERROR (its kernel is not one)');
    const kern = (await call(admin, 'POST', '/image/v2/images', { name: 'kern', disk_format: 'aki', container_format: 'aki' })).json;
    const put = await fetch(`${base}/image/v2/images/${kern.id}/file`, { method: 'PUT', headers: { 'X-Auth-Token': admin, 'Content-Type': 'application/octet-stream' }, body: Buffer.alloc(65536, 1) });
    if (put.status !== 204) fail(`kernel upload: ${put.status}`);
    const srv = await call(admin, 'POST', '/compute/v2.1/servers', { server: { name: 'vm-a', flavorRef: '1', imageRef: kern.id, networks: 'none' } });
    if (srv.status !== 202) fail(`server create: ${srv.status} ${srv.text}`);
    const sid = srv.json.server.id;
    const serverStatus = async () => (await call(admin, 'GET', `/compute/v2.1/servers/${sid}`)).json.server.status;
    await until('the server in ERROR', async () => (await serverStatus()) === 'ERROR');

    step('upload an image named with markup; the progress bar reaches 100 %');
    await goto(page, 'images', 'Images');
    await page.getByLabel('Name').fill(XSS);
    await page.getByLabel('File').setInputFiles({ name: 'img.raw', mimeType: 'application/octet-stream', buffer: Buffer.alloc(8 << 20, 7) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByTestId('upload-percent').filter({ hasText: '100 %' }).waitFor({ timeout: 60000 });
    if (await page.locator('#up-progress').evaluate((e) => e.value) !== 100) fail('progress value is not 100');
    await cell(page, XSS).waitFor();
    await cell(page.locator('tr').filter({ hasText: XSS }), 'active').waitFor();
    await noXssElement(page, 'images');
    await shot(page, 'images');
    const imgs = (await call(admin, 'GET', '/image/v2/images')).json.images;
    const img = imgs.find((i) => i.name === XSS);
    if (!img || img.size !== 8 << 20 || img.status !== 'active') fail(`image as stored: ${JSON.stringify(img)}`);

    step('edit the image\'s properties (a JSON-patch PATCH)');
    const edit = form(page, 'Edit image properties');
    const imgNow = async () => (await call(admin, 'GET', `/image/v2/images/${img.id}`)).json;
    await edit.getByLabel('Image to edit').selectOption({ label: XSS });
    await edit.getByLabel('Set kernel_id').selectOption({ label: 'kern' });
    await edit.getByLabel('Set os_command_line').fill('console=ttyS0 quiet');
    await edit.getByRole('button', { name: 'Save properties' }).click();
    await cell(page, `kernel_id=${kern.id} os_command_line=console=ttyS0 quiet`).waitFor();
    let props = await imgNow();
    if (props.kernel_id !== kern.id || props.os_command_line !== 'console=ttyS0 quiet') fail(`image after edit: ${JSON.stringify(props)}`);
    await edit.getByLabel('Image to edit').selectOption({ label: XSS });
    await edit.getByLabel('Remove os_command_line').check();
    await edit.getByRole('button', { name: 'Save properties' }).click();
    await cell(page, `kernel_id=${kern.id}`).waitFor();
    props = await imgNow();
    if ('os_command_line' in props || props.kernel_id !== kern.id) fail(`image after removal: ${JSON.stringify(props)}`);
    await shot(page, 'images-edit');

    step('create a network with a subnet, a router and its interface');
    await goto(page, 'networks', 'Networks');
    await page.getByLabel('Network name').fill('web-net');
    await page.getByLabel('Subnet CIDR (e.g. 10.0.0.0/24)').fill('10.20.0.0/24');
    await page.getByRole('button', { name: 'Create network' }).click();
    await cell(page, 'web-net').waitFor();
    await page.getByLabel('Network name').fill(XSS);
    await page.getByRole('button', { name: 'Create network' }).click();
    await cell(page, XSS).waitFor();
    await page.getByLabel('Router name').fill('web-router');
    await page.getByRole('button', { name: 'Create router' }).click();
    await cell(page, 'web-router').waitFor();
    await page.getByLabel('Router', { exact: true }).selectOption({ label: 'web-router' });
    await page.getByLabel('Subnet', { exact: true }).selectOption({ label: 'web-net-subnet 10.20.0.0/24' });
    await page.getByRole('button', { name: 'Add interface' }).click();
    await cell(page.locator('tr').filter({ hasText: 'web-router' }), '10.20.0.1').waitFor();
    await page.locator('svg text', { hasText: 'web-router' }).waitFor();
    await page.locator('svg text', { hasText: '<img src=x onerr' }).waitFor();
    await noXssElement(page, 'networks');
    await shot(page, 'networks');
    step('a wrong CIDR shows Neutron\'s message');
    await page.getByLabel('Network name').fill('bad-net');
    await page.getByLabel('Subnet CIDR (e.g. 10.0.0.0/24)').fill('10.0.0.0/99');
    await page.getByRole('button', { name: 'Create network' }).click();
    const bad = await page.getByRole('alert').first().textContent({ timeout: 10000 });
    if (!bad || /^HTTP /.test(bad)) fail(`no API message for a bad CIDR: ${bad}`);
    console.log(`  neutron said: ${bad}`);

    step('create a volume named with markup');
    await goto(page, 'volumes', 'Volumes');
    await page.getByLabel('Name').fill(XSS);
    await page.getByRole('button', { name: 'Create volume' }).click();
    await cell(page.locator('tr').filter({ hasText: XSS }), 'available').waitFor({ timeout: 30000 });
    await noXssElement(page, 'volumes');

    step('extend a volume to a chosen size; a smaller size shows Cinder\'s message');
    const vol = async (name) => (await call(admin, 'GET', '/volume/v3/volumes/detail')).json.volumes.find((v) => v.name === name);
    await page.getByLabel('Name').fill('data-vol');
    await page.getByRole('button', { name: 'Create volume' }).click();
    await cell(row(page, 'data-vol'), 'available').waitFor({ timeout: 30000 });
    const ext = form(page, 'Extend volume');
    await ext.getByLabel('Volume to extend').selectOption({ label: 'data-vol' });
    await ext.getByLabel('New size in GiB').fill('2');
    await ext.getByRole('button', { name: 'Extend' }).click();
    await cell(row(page, 'data-vol'), '2').waitFor({ timeout: 30000 });
    if ((await vol('data-vol')).size !== 2) fail('data-vol is not 2 GiB');
    await ext.getByLabel('Volume to extend').selectOption({ label: 'data-vol' });
    await ext.getByLabel('New size in GiB').fill('1');
    await ext.getByRole('button', { name: 'Extend' }).click();
    await formError(page, 'Extend volume');
    if ((await vol('data-vol')).size !== 2) fail('a refused extend changed the size');

    step('snapshot it and create a volume from the snapshot');
    await page.getByRole('button', { name: 'Snapshot data-vol', exact: true }).click();
    await cell(row(page, 'data-vol-snap', 'Snapshots'), 'available').waitFor({ timeout: 30000 });
    await page.getByLabel('Name').fill('from-snap');
    await page.getByLabel('Size (GiB)', { exact: true }).fill('2');
    await page.getByLabel('From snapshot').selectOption({ label: 'data-vol-snap' });
    await page.getByRole('button', { name: 'Create volume' }).click();
    await cell(row(page, 'from-snap'), 'available').waitFor({ timeout: 30000 });
    const snapId = (await call(admin, 'GET', '/volume/v3/snapshots')).json.snapshots.find((x) => x.name === 'data-vol-snap').id;
    if ((await vol('from-snap')).snapshot_id !== snapId) fail('from-snap was not made from the snapshot');

    step('create a volume from an image');
    await page.getByLabel('Name').fill('from-image');
    await page.getByLabel('From image').selectOption({ label: 'kern' });
    await page.getByRole('button', { name: 'Create volume' }).click();
    await cell(row(page, 'from-image'), 'available').waitFor({ timeout: 30000 });
    const fromImage = await vol('from-image');
    if (!fromImage.volume_image_metadata || fromImage.volume_image_metadata.image_id !== kern.id) fail(`from-image: ${JSON.stringify(fromImage)}`);

    step('back it up and restore the backup to a new volume');
    await page.getByRole('button', { name: 'Back up data-vol', exact: true }).click();
    await cell(row(page, 'data-vol-backup', 'Backups'), 'available').waitFor({ timeout: 60000 });
    await page.getByRole('button', { name: 'Restore data-vol-backup', exact: true }).click();
    await cell(row(page, 'data-vol-backup-restored'), 'available').waitFor({ timeout: 60000 });
    if ((await vol('data-vol-backup-restored')).size !== 2) fail('the restored volume is not 2 GiB');

    step('attach to a server: refused in ERROR (Nova\'s message), done when SHUTOFF; detach');
    const att = form(page, 'Attach volume');
    await att.getByLabel('Volume to attach').selectOption({ label: 'data-vol' });
    await att.getByLabel('To server').selectOption({ label: 'vm-a' });
    await att.getByRole('button', { name: 'Attach' }).click();
    if (!/attach_volume/.test(await formError(page, 'Attach volume'))) fail('not Nova\'s attach message');
    await call(admin, 'POST', `/compute/v2.1/servers/${sid}/action`, { 'os-stop': null });
    await until('the server SHUTOFF', async () => (await serverStatus()) === 'SHUTOFF');
    await att.getByLabel('Volume to attach').selectOption({ label: 'data-vol' });
    await att.getByLabel('To server').selectOption({ label: 'vm-a' });
    await att.getByRole('button', { name: 'Attach' }).click();
    await cell(row(page, 'data-vol'), 'vm-a').waitFor({ timeout: 30000 });
    await cell(row(page, 'data-vol'), 'in-use').waitFor({ timeout: 30000 });
    const dataVolId = (await vol('data-vol')).id;
    const attached = async () => (await call(admin, 'GET', `/compute/v2.1/servers/${sid}/os-volume_attachments`)).json.volumeAttachments
      .some((a) => a.volumeId === dataVolId); // besides its root disk
    if (!(await attached())) fail('Nova does not list data-vol as attached');
    await shot(page, 'volumes');
    await page.getByRole('button', { name: 'Detach data-vol', exact: true }).click();
    await cell(row(page, 'data-vol'), 'available').waitFor({ timeout: 30000 });
    if (await attached()) fail('data-vol is still attached');

    step('servers and identity pages render (XSS names as text)');
    await goto(page, 'servers', 'Servers');
    await page.getByRole('heading', { name: 'Launch server' }).waitFor();
    step('rename the server (to markup: shown as text)');
    const ren = form(page, 'Rename server');
    await ren.getByLabel('Server to rename').selectOption({ label: 'vm-a' });
    await ren.getByLabel('Rename to').fill(XSS);
    await ren.getByRole('button', { name: 'Rename' }).click();
    await cell(page, XSS).waitFor();
    if ((await call(admin, 'GET', `/compute/v2.1/servers/${sid}`)).json.server.name !== XSS) fail('the server was not renamed');
    await noXssElement(page, 'servers');
    await ren.getByLabel('Server to rename').selectOption({ label: XSS });
    await ren.getByLabel('Rename to').fill('x'.repeat(300));
    await ren.getByRole('button', { name: 'Rename' }).click();
    await formError(page, 'Rename server');
    await shot(page, 'servers');
    await goto(page, 'identity', 'Identity');
    await page.getByLabel('Project name').fill(XSS);
    await page.getByRole('button', { name: 'Create project' }).click();
    await cell(page, XSS).waitFor();
    await noXssElement(page, 'identity');
    await shot(page, 'identity');

    step('the session API checks its input');
    const bads = await page.evaluate(async () => {
      const csrf = (await (await fetch('/dashboard/api/session')).json()).session.csrf;
      const put = async (body) => (await fetch('/dashboard/api/session', { method: 'PUT', headers: { 'X-Dashboard-CSRF': csrf, 'Content-Type': 'application/json' }, body })).status;
      return [await put('{'), await put('{"project_id": 5}'), await put('{"project_id": "no-such-project"}'),
        (await fetch('/dashboard/api/session', { method: 'POST', headers: { 'X-Dashboard-CSRF': csrf } })).status];
    });
    if (bads.join() !== '400,400,401,400') fail(`bad session requests got ${bads}`);

    step('cookie without the CSRF header, same site: refused');
    const noCsrf = await page.evaluate(async () => (await fetch('/network/v2.0/networks', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"network":{"name":"nocsrf"}}' })).status);
    if (noCsrf !== 401) fail(`a cookie-only POST got ${noCsrf}`);
    const wrongCsrf = await page.evaluate(async () => (await fetch('/network/v2.0/networks', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Dashboard-CSRF': '0'.repeat(32) }, body: '{"network":{"name":"nocsrf"}}' })).status);
    if (wrongCsrf !== 401) fail(`a wrong CSRF token got ${wrongCsrf}`);

    step('a cross-site form POST is refused');
    const evil = http.createServer((q, s) => {
      s.setHeader('Content-Type', 'text/html');
      s.end(`<form id=f method=POST enctype="text/plain" action="${base}/network/v2.0/networks">
        <input name='{"network":{"name":"csrf-net","x":"' value='"}}'></form><script>f.submit()</script>`);
    });
    await new Promise((ok) => evil.listen(0, 'localhost', ok));
    const answer = page.waitForResponse((r) => r.url().endsWith('/network/v2.0/networks') && r.request().method() === 'POST');
    await page.goto(`http://localhost:${evil.address().port}/`);
    const st = (await answer).status();
    evil.close();
    if (st !== 401) fail(`the cross-site form POST got ${st}`);
    const nets = (await call(admin, 'GET', '/network/v2.0/networks')).json.networks;
    if (nets.some((n) => n.name === 'csrf-net' || n.name === 'nocsrf')) fail('a forged request created a network');

    step('a member of another project sees none of it');
    const pr = await call(admin, 'POST', '/identity/v3/projects', { project: { name: 'other', domain_id: 'default' } });
    const us = await call(admin, 'POST', '/identity/v3/users', { user: { name: 'bob', password: 'bob-pw-1', domain_id: 'default' } });
    const roles = (await call(admin, 'GET', '/identity/v3/roles?name=member')).json.roles;
    await call(admin, 'PUT', `/identity/v3/projects/${pr.json.project.id}/users/${us.json.user.id}/roles/${roles[0].id}`);
    const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p2 = await ctx2.newPage();
    guard(p2);
    await login(p2, 'bob', 'bob-pw-1', 'other');
    if (await p2.getByRole('link', { name: 'Identity' }).count()) fail('a member sees the Identity page link');
    if (await p2.getByText('CPU busy').count()) fail('a member sees the host figures');
    const memberSummary = await p2.evaluate(async () => {
      const csrf = (await (await fetch('/dashboard/api/session')).json()).session.csrf;
      return (await fetch('/dashboard/api/summary', { headers: { 'X-Dashboard-CSRF': csrf } })).json();
    });
    if (memberSummary.host || memberSummary.blockstore || !memberSummary.time) fail(`a member's summary: ${JSON.stringify(memberSummary)}`);
    for (const [hash, heading, caption] of [['images', 'Images', 'Images'], ['volumes', 'Volumes', 'Volumes'], ['networks', 'Networks', 'Networks']]) {
      await goto(p2, hash, heading);
      await p2.locator('table', { has: p2.locator('caption', { hasText: caption }) }).first().waitFor();
      await p2.waitForTimeout(300);
      const text = await p2.locator('main').innerText();
      for (const name of [XSS, 'web-net', 'web-router']) if (text.includes(name)) fail(`bob sees ${name} on ${hash}`);
    }
    await shot(p2, 'member-networks');

    step('the project switcher rescopes the session (the old token is revoked)');
    const adminUser = (await call(admin, 'GET', '/identity/v3/users?name=admin')).json.users[0];
    await call(admin, 'PUT', `/identity/v3/projects/${pr.json.project.id}/users/${adminUser.id}/roles/${roles[0].id}`);
    await page.goto(`${base}/dashboard/#/images`);
    // Wait for the rescoping PUT itself, so that a slow or failed switch
    // says what happened rather than timing out on the select's value.
    const [rescope] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/dashboard/api/session') && r.request().method() === 'PUT', { timeout: 60000 }),
      page.getByLabel('project', { exact: true }).selectOption({ label: 'other' }),
    ]);
    if (rescope.status() !== 200) fail(`the project switch answered ${rescope.status()}: ${await rescope.text()}`);
    await page.waitForFunction((id) => document.getElementById('project-switch')?.value === id, pr.json.project.id, { timeout: 60000 });
    await page.getByRole('heading', { name: 'Images', exact: true }).waitFor();
    await page.waitForTimeout(500);
    const switched = (await ctx.cookies()).find((c) => c.name === 'picostack_session');
    if (!switched || switched.value === cookie.value) fail('the switcher kept the same token');
    const old = await fetch(`${base}/identity/v3/auth/tokens`, { headers: { 'X-Auth-Token': admin, 'X-Subject-Token': cookie.value } });
    if (old.status !== 404) fail(`the token before the switch still validates: ${old.status}`);
    const scoped = await (await fetch(`${base}/identity/v3/auth/tokens`, { headers: { 'X-Auth-Token': admin, 'X-Subject-Token': switched.value } })).json();
    if (scoped.token.project.name !== 'other') fail(`the new token is scoped to ${scoped.token.project.name}`);
    await shot(page, 'switched');

    step('log out: the token is revoked');
    await page.goto(`${base}/dashboard/#/overview`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    const v = await fetch(`${base}/identity/v3/auth/tokens`, { headers: { 'X-Auth-Token': admin, 'X-Subject-Token': switched.value } });
    if (v.status !== 404) fail(`the logged-out token validates: ${v.status}`);
    if ((await ctx.cookies()).some((c) => c.name === 'picostack_session' && c.value)) fail('the cookie is still set');
    await shot(page, 'login');
    console.log(`PASS (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    console.error(`FAIL: ${e.message}`);
    if (page) await shot(page, 'failure').catch(() => {});
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main();
