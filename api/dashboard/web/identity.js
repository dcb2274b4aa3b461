// Identity (admins): projects, users, roles and assignments, and the
// caller's application credentials.
import { html, useState, api, useLoad, ErrorBox, Table, Action, Form } from '/dashboard/ui.js';

const K = '/identity/v3';

export default function Identity({ me }) {
  const d = useLoad(async () => {
    const [p, u, r, a, c] = await Promise.all([
      api('GET', `${K}/projects`), api('GET', `${K}/users`), api('GET', `${K}/roles`),
      api('GET', `${K}/role_assignments`), api('GET', `${K}/users/${me.user_id}/application_credentials`),
    ]);
    return { projects: p.projects, users: u.users, roles: r.roles, asg: a.role_assignments, creds: c.application_credentials };
  }, [], 10000);
  const [error, setError] = useState(null);
  const x = d.data;
  if (!x) return html`<h1>Identity</h1><${ErrorBox} error=${d.error} /><p>Loading…</p>`;
  const name = (rows, id) => (rows.find((o) => o.id === id) || { name: id }).name;
  const opt = (rows) => rows.map((o) => ({ value: o.id, label: o.name }));
  const del = (path) => () => api('DELETE', `${K}/${path}`).then(d.reload);
  return html`<h1>Identity</h1>
    <${ErrorBox} error=${error || d.error} />
    <${Table} caption="Projects" rows=${x.projects} columns=${[
      { label: 'Name', get: (p) => p.name }, { label: 'Description', get: (p) => p.description || '' },
      { label: 'Enabled', get: (p) => (p.enabled ? 'yes' : 'no') }]}
      actions=${(p) => html`<${Action} label="Delete" name=${p.name} danger fn=${del(`projects/${p.id}`)} onError=${setError} />`} />
    <${Form} title="Create project" submit="Create project" action=${(v) => api('POST', `${K}/projects`, { project: { name: v.name, description: v.description, domain_id: 'default' } }).then(d.reload)}
      fields=${[{ label: 'Project name', name: 'name', required: true }, { label: 'Description', name: 'description' }]} />
    <${Table} caption="Users" rows=${x.users} columns=${[
      { label: 'Name', get: (u) => u.name }, { label: 'Enabled', get: (u) => (u.enabled ? 'yes' : 'no') }]}
      actions=${(u) => html`<${Action} label="Delete" name=${u.name} danger fn=${del(`users/${u.id}`)} onError=${setError} />`} />
    <${Form} title="Create user" submit="Create user" action=${(v) => api('POST', `${K}/users`, { user: { name: v.name, password: v.password, domain_id: 'default', default_project_id: v.project || undefined } }).then(d.reload)}
      fields=${[{ label: 'User name', name: 'name', required: true }, { label: 'Password', name: 'password', type: 'password', required: true },
        { label: 'Default project', name: 'project', options: [{ value: '', label: '(none)' }, ...opt(x.projects)] }]} />
    <${Table} caption="Role assignments" rows=${x.asg.map((a, i) => ({ ...a, id: String(i) }))} columns=${[
      { label: 'Project', get: (a) => (a.scope && a.scope.project ? name(x.projects, a.scope.project.id) : 'system/domain') },
      { label: 'User', get: (a) => (a.user ? name(x.users, a.user.id) : a.group ? `group ${a.group.id}` : '') },
      { label: 'Role', get: (a) => name(x.roles, a.role.id) }]}
      actions=${(a) => (a.scope && a.scope.project && a.user ? html`<${Action} label="Remove" danger name=${name(x.roles, a.role.id)}
        fn=${del(`projects/${a.scope.project.id}/users/${a.user.id}/roles/${a.role.id}`)} onError=${setError} />` : null)} />
    <${Form} title="Assign role" submit="Assign role" action=${(v) => api('PUT', `${K}/projects/${v.project}/users/${v.user}/roles/${v.role}`).then(d.reload)}
      fields=${[{ label: 'Project', name: 'project', options: opt(x.projects) }, { label: 'User', name: 'user', options: opt(x.users) }, { label: 'Role', name: 'role', options: opt(x.roles) }]} />
    <${Table} caption="My application credentials" rows=${x.creds} columns=${[
      { label: 'Name', get: (c) => c.name }, { label: 'Expires', get: (c) => c.expires_at || 'never' }]}
      actions=${(c) => html`<${Action} label="Delete" name=${c.name} danger fn=${del(`users/${me.user_id}/application_credentials/${c.id}`)} onError=${setError} />`} />
    <${Form} title="Create application credential" submit="Create credential" action=${async (v) => {
      const c = await api('POST', `${K}/users/${me.user_id}/application_credentials`, { application_credential: { name: v.name } });
      d.reload();
      alert(`Secret of ${c.application_credential.name} (shown once): ${c.application_credential.secret}`);
    }} fields=${[{ label: 'Credential name', name: 'name', required: true }]} />`;
}
