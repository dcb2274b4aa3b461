// Images: list, upload from the browser (streamed by the browser as the
// request body, with a progress bar; Cancel aborts it and deletes the
// queued image), properties, delete.
import { html, useState, api, useLoad, ErrorBox, Table, Action, Field, fmtBytes, session } from '/dashboard/ui.js';

const pick = (images) => [{ value: '', label: '(none)' }, ...(images || []).filter((i) => i.status === 'active').map((i) => ({ value: i.id, label: i.name || i.id }))];

function upload(id, file, onProgress, xhrRef) {
  return new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    xhrRef.current = x;
    x.open('PUT', `/image/v2/images/${encodeURIComponent(id)}/file`);
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.setRequestHeader('X-Dashboard-CSRF', session.current.csrf);
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress((100 * e.loaded) / e.total); };
    x.onload = () => (x.status < 300 ? (onProgress(100), ok()) : fail(new Error(x.responseText.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim() || `HTTP ${x.status}`)));
    x.onerror = () => fail(new Error('The upload failed (connection lost).'));
    x.onabort = () => fail(new Error('Upload cancelled.'));
    x.send(file);
  });
}

function Upload({ onDone, images }) {
  const [progress, setProgress] = useState(null);
  const [error, setError] = useState(null);
  const xhr = { current: null };
  const [xh] = useState(xhr);
  async function submit(ev) {
    ev.preventDefault();
    const form = ev.currentTarget;
    const v = Object.fromEntries(new FormData(form).entries());
    const file = form.elements.file.files[0];
    setError(null);
    let img;
    try {
      const props = {};
      for (const k of ['kernel_id', 'ramdisk_id', 'os_command_line']) if (v[k]) props[k] = v[k];
      img = await api('POST', '/image/v2/images', {
        name: v.name, disk_format: v.disk_format, container_format: 'bare', visibility: v.visibility, ...props,
      });
      onDone();
      if (file) {
        setProgress(0);
        await upload(img.id, file, setProgress, xh);
      }
      form.reset();
    } catch (e) {
      setError(e);
      if (img && xh.current && xh.current.status === 0) await api('DELETE', `/image/v2/images/${img.id}`).catch(() => {});
    }
    onDone();
  }
  return html`<form class="card" onSubmit=${submit} aria-labelledby="up-h">
    <h3 id="up-h">Create image</h3>
    <${Field} label="Name" name="name" required />
    <div class="field"><label for="up-file">File</label><input id="up-file" name="file" type="file" /></div>
    <${Field} label="Disk format" name="disk_format" options=${['raw', 'qcow2', 'aki', 'ari', 'ami', 'iso'].map((x) => ({ value: x, label: x }))} />
    <${Field} label="Visibility" name="visibility" options=${['private', 'shared', 'community', 'public'].map((x) => ({ value: x, label: x }))} />
    <${Field} label="Kernel image (kernel_id)" name="kernel_id" options=${pick(images)} />
    <${Field} label="Ramdisk image (ramdisk_id)" name="ramdisk_id" options=${pick(images)} />
    <${Field} label="os_command_line (optional)" name="os_command_line" />
    <button type="submit">Upload</button>
    ${progress != null ? html`<div class="progress">
      <progress id="up-progress" max="100" value=${progress} aria-label="Upload progress"></progress>
      <output for="up-progress" data-testid="upload-percent">${Math.round(progress)} %</output>
      ${progress < 100 ? html`<button type="button" onClick=${() => xh.current && xh.current.abort()}>Cancel upload</button>` : null}
    </div>` : null}
    <${ErrorBox} error=${error} />
  </form>`;
}

export default function Images() {
  const list = useLoad(() => api('GET', '/image/v2/images?limit=1000').then((b) => b.images), [], 5000);
  const [error, setError] = useState(null);
  const del = (img) => () => api('DELETE', `/image/v2/images/${encodeURIComponent(img.id)}`).then(list.reload);
  return html`<h1>Images</h1>
    <${ErrorBox} error=${error || list.error} />
    <${Table} caption="Images" rows=${list.data} columns=${[
      { label: 'Name', get: (i) => i.name },
      { label: 'Status', get: (i) => i.status },
      { label: 'Format', get: (i) => i.disk_format },
      { label: 'Size', get: (i) => fmtBytes(i.size) },
      { label: 'Visibility', get: (i) => i.visibility },
    ]} actions=${(i) => html`<${Action} label="Delete" name=${i.name} danger fn=${del(i)} onError=${setError} />`} />
    <${Upload} onDone=${list.reload} images=${list.data} />`;
}
