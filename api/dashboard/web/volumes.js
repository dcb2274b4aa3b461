// Volumes and snapshots: create (empty, from an image, from a snapshot),
// extend, snapshot, delete.
import { html, useState, api, useLoad, ErrorBox, Table, Action, Form } from '/dashboard/ui.js';

export default function Volumes() {
  const vols = useLoad(() => api('GET', '/volume/v3/volumes/detail').then((b) => b.volumes), [], 4000);
  const snaps = useLoad(() => api('GET', '/volume/v3/snapshots/detail').then((b) => b.snapshots), [], 4000);
  const imgs = useLoad(() => api('GET', '/image/v2/images?limit=1000').then((b) => b.images), []);
  const [error, setError] = useState(null);
  const reload = () => { vols.reload(); snaps.reload(); };
  const opt = (rows) => [{ value: '', label: '(none)' }, ...(rows || []).map((r) => ({ value: r.id, label: r.name || r.id }))];
  async function create(v) {
    const body = { name: v.name, size: Number(v.size) };
    if (v.imageRef) body.imageRef = v.imageRef;
    if (v.snapshot_id) body.snapshot_id = v.snapshot_id;
    await api('POST', '/volume/v3/volumes', { volume: body });
    reload();
  }
  const act = (vol, body) => () => api('POST', `/volume/v3/volumes/${vol.id}/action`, body).then(reload);
  return html`<h1>Volumes</h1>
    <${ErrorBox} error=${error || vols.error} />
    <${Table} caption="Volumes" rows=${vols.data} columns=${[
      { label: 'Name', get: (v) => v.name },
      { label: 'Size (GiB)', get: (v) => v.size },
      { label: 'Status', get: (v) => v.status },
      { label: 'Attached to', get: (v) => (v.attachments || []).map((a) => a.server_id).join(', ') },
    ]} actions=${(v) => html`
      <${Action} label="Extend +1 GiB" name=${v.name} fn=${act(v, { 'os-extend': { new_size: v.size + 1 } })} onError=${setError} />
      <${Action} label="Snapshot" name=${v.name} fn=${() => api('POST', '/volume/v3/snapshots', { snapshot: { volume_id: v.id, name: `${v.name}-snap` } }).then(reload)} onError=${setError} />
      <${Action} label="Delete" name=${v.name} danger fn=${() => api('DELETE', `/volume/v3/volumes/${v.id}`).then(reload)} onError=${setError} />`} />
    <${Form} title="Create volume" submit="Create volume" action=${create} fields=${[
      { label: 'Name', name: 'name', required: true },
      { label: 'Size (GiB)', name: 'size', type: 'number', min: 1, value: 1, required: true },
      { label: 'From image', name: 'imageRef', options: opt(imgs.data) },
      { label: 'From snapshot', name: 'snapshot_id', options: opt(snaps.data) },
    ]} />
    <${Table} caption="Snapshots" rows=${snaps.data} columns=${[
      { label: 'Name', get: (s) => s.name },
      { label: 'Volume', get: (s) => s.volume_id },
      { label: 'Size (GiB)', get: (s) => s.size },
      { label: 'Status', get: (s) => s.status },
    ]} actions=${(s) => html`<${Action} label="Delete" name=${s.name} danger fn=${() => api('DELETE', `/volume/v3/snapshots/${s.id}`).then(reload)} onError=${setError} />`} />`;
}
