// The dashboard's shell: login, the navigation and the hash router
// (#/overview, #/images, ...). Pages load as ES modules when first shown.
import { html, render, useState, useEffect, session, api, errorMessage, ErrorBox, Field } from '/dashboard/ui.js';

const pages = [
  ['overview', 'Overview'], ['images', 'Images'], ['volumes', 'Volumes'],
  ['networks', 'Networks'], ['servers', 'Servers'], ['identity', 'Identity'],
];

// Keystone checks the password (POST /identity/v3/auth/tokens: its
// lockout, rate limit and messages); the token goes at once to
// /dashboard/api/session, which keeps it in an HttpOnly cookie.
async function login({ user, password, project, domain }) {
  const dom = { name: domain || 'Default' };
  const r = await fetch('/identity/v3/auth/tokens?nocatalog', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: dom, password } } },
      scope: { project: { name: project, domain: dom } } } }),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(errorMessage(r.status, text));
  const token = r.headers.get('X-Subject-Token');
  const s = await fetch('/dashboard/api/session', { method: 'POST', headers: { 'X-Auth-Token': token } });
  const st = await s.text();
  if (!s.ok) throw new Error(errorMessage(s.status, st));
  return JSON.parse(st).session;
}

function Login({ onLogin }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(ev) {
    ev.preventDefault();
    setBusy(true); setError(null);
    try { onLogin(await login(Object.fromEntries(new FormData(ev.currentTarget).entries()))); } catch (e) { setError(e); }
    setBusy(false);
  }
  return html`<main class="login"><form class="card" onSubmit=${submit} aria-labelledby="login-title">
    <h1 id="login-title">picostack</h1>
    <${Field} label="User" name="user" required />
    <${Field} label="Password" name="password" type="password" required />
    <${Field} label="Project" name="project" required />
    <${Field} label="Domain" name="domain" value="Default" />
    <button type="submit" disabled=${busy}>Log in</button>
    <${ErrorBox} error=${error} />
  </form></main>`;
}

function route() {
  const p = location.hash.replace(/^#\/?/, '').split('/')[0];
  return pages.some(([id]) => id === p) ? p : 'overview';
}

// The project switcher: the user's projects (Keystone's
// /v3/auth/projects); choosing one rescopes the session's token.
function Projects({ me, onSwitch }) {
  const [projects, setProjects] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { api('GET', '/identity/v3/auth/projects').then((b) => setProjects(b.projects), setError); }, [me.project_id]);
  if (!projects || projects.length < 2) return html`<span class="who">${me.user_name} · project ${me.project_name}${me.admin ? ' · admin' : ''}</span>`;
  async function change(ev) {
    try { onSwitch((await api('PUT', '/dashboard/api/session', { project_id: ev.currentTarget.value })).session); } catch (e) { setError(e); }
  }
  return html`<span class="who">${me.user_name}${me.admin ? ' · admin' : ''}${' · '}<label for="project-switch">project</label>${' '}<select id="project-switch" onChange=${change} value=${me.project_id}>
      ${projects.map((p) => html`<option value=${p.id} selected=${p.id === me.project_id}>${p.name}</option>`)}
    </select>${error ? html` <span class="error" role="alert">${error.message}</span>` : null}</span>`;
}

function Shell({ me, onLogout, onSwitch }) {
  const [page, setPage] = useState(route());
  const [mod, setMod] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const on = () => setPage(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    setMod(null);
    import(`/dashboard/${page}.js`).then((m) => setMod({ page, Page: m.default }), setError);
    const title = pages.find(([id]) => id === page)[1];
    document.title = `${title} – picostack`;
  }, [page]);
  async function logout() {
    try { await api('DELETE', '/dashboard/api/session'); } catch (e) { setError(e); return; }
    onLogout();
  }
  return html`<header>
      <a class="skip" href="#main">Skip to content</a>
      <strong>picostack</strong>
      <${Projects} me=${me} onSwitch=${onSwitch} />
      <button type="button" onClick=${logout}>Log out</button>
    </header>
    <nav aria-label="Pages"><ul>
      ${pages.filter(([id]) => id !== 'identity' || me.admin).map(([id, label]) => html`<li>
        <a href=${`#/${id}`} aria-current=${id === page ? 'page' : null}>${label}</a></li>`)}
    </ul></nav>
    <main id="main" tabindex="-1">
      <${ErrorBox} error=${error} />
      ${mod && mod.page === page ? html`<${mod.Page} me=${me} key=${me.project_id} />` : html`<p>Loading…</p>`}
    </main>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  useEffect(() => {
    session.onExpired = () => { session.current = null; setMe(null); };
    fetch('/dashboard/api/session').then(async (r) => {
      const s = r.ok ? (await r.json()).session : null;
      session.current = s; setMe(s);
    }, () => setMe(null));
  }, []);
  if (me === undefined) return html`<p class="boot">Loading…</p>`;
  if (!me) return html`<${Login} onLogin=${(s) => { session.current = s; setMe(s); }} />`;
  return html`<${Shell} me=${me} onLogout=${() => { session.current = null; setMe(null); }}
    onSwitch=${(s) => { session.current = s; setMe(s); }} />`;
}

render(html`<${App} />`, document.getElementById('app'));
