// The dashboard's shared pieces: preact + htm, the API client and small
// components. Every name from the API is rendered as text by preact (no
// innerHTML anywhere), so a resource called <img src=x onerror=...> shows
// as those characters.
import { h, render } from '/dashboard/vendor/preact.mjs';
import { useState, useEffect, useRef, useCallback } from '/dashboard/vendor/hooks.mjs';
import htm from '/dashboard/vendor/htm.mjs';

export const html = htm.bind(h);
export { render, useState, useEffect, useRef, useCallback };

// The session (user, project, admin, csrf): set by app.js after login.
export const session = { current: null };

// The API's own message from any OpenStack error shape (Keystone's
// {"error":{"message"}}, Nova's {"badRequest":{"message"}}, Neutron's
// {"NeutronError":{"message"}}, Glance's HTML page).
export function errorMessage(status, text) {
  try {
    const body = JSON.parse(text);
    for (const v of Object.values(body)) {
      if (v && typeof v === 'object' && typeof v.message === 'string') return v.message;
    }
    if (typeof body.message === 'string') return body.message;
  } catch (e) {
    const m = /<h1>[^<]*<\/h1>\s*([^<]*)/.exec(text);
    if (m && m[1].trim()) return m[1].trim();
  }
  return `HTTP ${status}` + (text ? `: ${text.slice(0, 200)}` : '');
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// One call to an OpenStack API with the session cookie and the CSRF
// header. body: an object (sent as JSON) or undefined. Returns the parsed
// JSON (null when empty); throws ApiError with the API's message.
export async function api(method, path, body, headers = {}) {
  const h = { 'X-Dashboard-CSRF': session.current ? session.current.csrf : '', ...headers };
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method, headers: h, credentials: 'same-origin',
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await r.text();
  if (r.status === 401 && session.onExpired) session.onExpired();
  if (!r.ok) throw new ApiError(r.status, errorMessage(r.status, text));
  return text ? JSON.parse(text) : null;
}

export function fmtBytes(n) {
  if (n == null || n < 0) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

// Loads a classic script (uPlot, xterm) once, on the page that needs it.
const loaded = {};
export function loadScript(src, css) {
  if (!loaded[src]) {
    if (css) {
      const l = document.createElement('link');
      l.rel = 'stylesheet'; l.href = css; document.head.append(l);
    }
    loaded[src] = new Promise((ok, fail) => {
      const s = document.createElement('script');
      s.src = src; s.onload = ok; s.onerror = () => fail(new Error(`cannot load ${src}`));
      document.head.append(s);
    });
  }
  return loaded[src];
}

// Error box: the API's message, announced to screen readers.
export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${String(error.message || error)}</p>`;
}

// Loads data with fn() now and every `every` ms (0: once); reload() again.
export function useLoad(fn, deps = [], every = 0) {
  const [state, set] = useState({ data: null, error: null, loading: true });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const reload = useCallback(async () => {
    try {
      const data = await fnRef.current();
      set({ data, error: null, loading: false });
    } catch (e) {
      set((s) => ({ ...s, error: e, loading: false }));
    }
  }, []);
  useEffect(() => {
    reload();
    if (!every) return undefined;
    const t = setInterval(reload, every);
    return () => clearInterval(t);
  }, deps);
  return { ...state, reload };
}

// A form that runs action(values) and shows its error; resets on success.
export function Form({ title, fields, submit, action, children }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(ev) {
    ev.preventDefault();
    const form = ev.currentTarget;
    const values = Object.fromEntries(new FormData(form).entries());
    setBusy(true); setError(null);
    try { await action(values, form); form.reset(); } catch (e) { setError(e); }
    setBusy(false);
  }
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return html`<form class="card" onSubmit=${onSubmit} aria-labelledby=${slug}>
    <h3 id=${slug}>${title}</h3>
    ${fields.map((f) => html`<${Field} ...${f} />`)}
    ${children}
    <button type="submit" disabled=${busy}>${submit}</button>
    <${ErrorBox} error=${error} />
  </form>`;
}

let fieldSeq = 0;
export function Field({ label, name, type = 'text', required, options, value, min, placeholder }) {
  const id = useRef(`f${++fieldSeq}`).current;
  let input;
  if (options) {
    input = html`<select id=${id} name=${name} required=${required}>
      ${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
    </select>`;
  } else if (type === 'textarea') {
    input = html`<textarea id=${id} name=${name} placeholder=${placeholder}></textarea>`;
  } else if (type === 'checkbox') {
    input = html`<input id=${id} name=${name} type="checkbox" value="1" />`;
  } else {
    input = html`<input id=${id} name=${name} type=${type} required=${required} value=${value}
      min=${min} placeholder=${placeholder} autocomplete="off" />`;
  }
  return html`<div class="field"><label for=${id}>${label}</label>${input}</div>`;
}

// A table of rows (columns: [{label, get(row)}]) with per-row actions.
export function Table({ caption, rows, columns, actions }) {
  if (!rows) return html`<p>Loading…</p>`;
  return html`<div class="scroll"><table>
    <caption>${caption}</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}
      ${actions ? html`<th scope="col">Actions</th>` : null}</tr></thead>
    <tbody>
      ${rows.length === 0 ? html`<tr><td colspan=${columns.length + 1}>None.</td></tr>` : null}
      ${rows.map((row) => html`<tr key=${row.id}>
        ${columns.map((c) => html`<td data-label=${c.label}>${c.get(row)}</td>`)}
        ${actions ? html`<td class="actions" data-label="Actions"><span>${actions(row)}</span></td>` : null}
      </tr>`)}
    </tbody></table></div>`;
}

// A button that runs fn and reports its failure through onError.
export function Action({ label, fn, onError, danger, name }) {
  const [busy, setBusy] = useState(false);
  async function go() {
    if (danger && !confirm(`${label} ${name || ''}?`)) return;
    setBusy(true);
    try { await fn(); } catch (e) { onError(e); }
    setBusy(false);
  }
  return html`<button type="button" class=${danger ? 'danger' : ''} disabled=${busy}
    aria-label=${name ? `${label} ${name}` : label} onClick=${go}>${label}</button>`;
}
