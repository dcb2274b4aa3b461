// Volumes, snapshots and backups: create (empty, from an image, from a
// snapshot), extend to a chosen size, attach to a chosen server and
// detach (Nova's os-volume_attachments), snapshot, back up and restore
// (Cinder's backups API), delete.
import { html, useState, api, useLoad, ErrorBox, Table, Action, Form } from '/dashboard/ui.js';

const V = '/volume/v3';
const C = '/compute/v2.1';
const opt = (rows, none) => [...(none ? [{ value: '', label: none }] : []), ...(rows || []).map((r) => ({ value: r.id, label: r.name || r.id }))];

export default function Volumes() {
  const vols = useLoad(() => api('GET', `${V}/volumes/detail`).then((b) => b.volumes), [], 4000);
  const snaps = useLoad(() => api('GET', `${V}/snapshots/detail`).then((b) => b.snapshots), [], 4000);
  const backups = useLoad(() => api('GET', `${V}/backups/detail`).then((b) => b.backups), [], 4000);
  const imgs = useLoad(() => api('GET', '/image/v2/images?limit=1000').then((b) => b.images), []);
  const servers = useLoad(() => api('GET', `${C}/servers/detail`).then((b) => b.servers), [], 10000);
  const [error, setError] = useState(null);
  const reload = () => { vols.reload(); snaps.reload(); backups.reload(); };
  const name = (rows, id) => ((rows || []).find((r) => r.id === id) || {}).name || id;
  async function create(v) {
    const body = { name: v.name, size: Number(v.size) };
    if (v.imageRef) body.imageRef = v.imageRef;
    if (v.snapshot_id) body.snapshot_id = v.snapshot_id;
    await api('POST', `${V}/volumes`, { volume: body });
    reload();
  }
  async function extend(v) {
    await api('POST', `${V}/volumes/${v.volume}/action`, { 'os-extend': { new_size: Number(v.new_size) } });
    reload();
  }
  async function attach(v) {
    await api('POST', `${C}/servers/${v.server}/os-volume_attachments`, { volumeAttachment: { volumeId: v.volume } });
    reload();
  }
  const detach = (vol, a) => () => api('DELETE', `${C}/servers/${a.server_id}/os-volume_attachments/${vol.id}`).then(reload);
  const post = (p, body) => () => api('POST', p, body).then(reload);
  const restore = (b) => post(`${V}/backups/${b.id}/restore`, { restore: { name: `${b.name || b.id}-restored` } });
  const free = (vols.data || []).filter((v) => v.status === 'available');
  return html`<h1>Volumes</h1>
    <${ErrorBox} error=${error || vols.error} />
    <${Table} caption="Volumes" rows=${vols.data} columns=${[
      { label: 'Name', get: (v) => v.name },
      { label: 'Size (GiB)', get: (v) => v.size },
      { label: 'Status', get: (v) => v.status },
      { label: 'Attached to', get: (v) => (v.attachments || []).map((a) => name(servers.data, a.server_id)).join(', ') },
    ]} actions=${(v) => html`
      <${Action} label="Snapshot" name=${v.name} fn=${post(`${V}/snapshots`, { snapshot: { volume_id: v.id, name: `${v.name}-snap` } })} onError=${setError} />
      <${Action} label="Back up" name=${v.name} fn=${post(`${V}/backups`, { backup: { volume_id: v.id, name: `${v.name}-backup` } })} onError=${setError} />
      ${(v.attachments || []).map((a) => html`<${Action} label="Detach" name=${v.name} fn=${detach(v, a)} onError=${setError} />`)}
      <${Action} label="Delete" name=${v.name} danger fn=${() => api('DELETE', `${V}/volumes/${v.id}`).then(reload)} onError=${setError} />`} />
    <${Form} title="Create volume" submit="Create volume" action=${create} fields=${[
      { label: 'Name', name: 'name', required: true },
      { label: 'Size (GiB)', name: 'size', type: 'number', min: 1, value: 1, required: true },
      { label: 'From image', name: 'imageRef', options: opt(imgs.data, '(none)') },
      { label: 'From snapshot', name: 'snapshot_id', options: opt(snaps.data, '(none)') },
    ]} />
    <${Form} title="Extend volume" submit="Extend" action=${extend} fields=${[
      { label: 'Volume to extend', name: 'volume', options: opt(vols.data), required: true },
      { label: 'New size in GiB', name: 'new_size', type: 'number', min: 1, required: true },
    ]} />
    <${Form} title="Attach volume" submit="Attach" action=${attach} fields=${[
      { label: 'Volume to attach', name: 'volume', options: opt(free), required: true },
      { label: 'To server', name: 'server', options: opt(servers.data), required: true },
    ]} />
    <${Table} caption="Snapshots" rows=${snaps.data} columns=${[
      { label: 'Name', get: (s) => s.name },
      { label: 'Volume', get: (s) => name(vols.data, s.volume_id) },
      { label: 'Size (GiB)', get: (s) => s.size },
      { label: 'Status', get: (s) => s.status },
    ]} actions=${(s) => html`<${Action} label="Delete" name=${s.name} danger fn=${() => api('DELETE', `${V}/snapshots/${s.id}`).then(reload)} onError=${setError} />`} />
    <${Table} caption="Backups" rows=${backups.data} columns=${[
      { label: 'Name', get: (b) => b.name },
      { label: 'Volume', get: (b) => name(vols.data, b.volume_id) },
      { label: 'Size (GiB)', get: (b) => b.size },
      { label: 'Status', get: (b) => b.status },
    ]} actions=${(b) => html`
      <${Action} label="Restore" name=${b.name} fn=${restore(b)} onError=${setError} />
      <${Action} label="Delete" name=${b.name} danger fn=${() => api('DELETE', `${V}/backups/${b.id}`).then(reload)} onError=${setError} />`} />`;
}
