// Servers: the launch form, the list with live status, actions, the
// console log and the live serial console (xterm.js over the compute
// service's serial WebSocket: POST .../remote-consoles gives its URL).
import { html, useState, useEffect, useRef, api, useLoad, ErrorBox, Table, Action, Form, loadScript } from '/dashboard/ui.js';

const C = '/compute/v2.1';
const MV = { 'OpenStack-API-Version': 'compute 2.6', 'X-OpenStack-Nova-API-Version': '2.6' };

function Console({ server, onClose }) {
  const box = useRef(null);
  const [state, setState] = useState('connecting');
  const [error, setError] = useState(null);
  useEffect(() => {
    let ws, term, gone = false;
    (async () => {
      try {
        await loadScript('/dashboard/vendor/xterm.js', '/dashboard/vendor/xterm.css');
        const rc = await api('POST', `${C}/servers/${server.id}/remote-consoles`, { remote_console: { protocol: 'serial', type: 'serial' } }, MV);
        if (gone) return;
        term = new window.Terminal({ convertEol: false, fontSize: 14, rows: 24, cols: 80 });
        term.open(box.current);
        ws = new WebSocket(rc.remote_console.url, ['binary']);
        ws.binaryType = 'arraybuffer';
        ws.onopen = () => { setState('connected'); term.focus(); };
        ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
        ws.onclose = (e) => setState(`closed (${e.code})`);
        term.onData((d) => ws.readyState === 1 && ws.send(new TextEncoder().encode(d)));
      } catch (e) { setError(e); }
    })();
    return () => { gone = true; if (ws) ws.close(); if (term) term.dispose(); };
  }, [server.id]);
  return html`<section class="card" aria-labelledby="con-h">
    <h2 id="con-h">Serial console of ${server.name} <small>(${state})</small></h2>
    <${ErrorBox} error=${error} />
    <div class="term" ref=${box} data-testid="console"></div>
    <button type="button" onClick=${onClose}>Close console</button></section>`;
}

function ConsoleLog({ server, onClose }) {
  const log = useLoad(() => api('POST', `${C}/servers/${server.id}/action`, { 'os-getConsoleOutput': { length: 200 } }).then((b) => b.output), [server.id], 5000);
  return html`<section class="card" aria-labelledby="log-h"><h2 id="log-h">Console log of ${server.name}</h2>
    <${ErrorBox} error=${log.error} /><pre class="log">${log.data || ''}</pre>
    <button type="button" onClick=${onClose}>Close log</button></section>`;
}

export default function Servers() {
  const list = useLoad(() => api('GET', `${C}/servers/detail`).then((b) => b.servers), [], 3000);
  const refs = useLoad(async () => {
    const [f, i, n, k, v, fip] = await Promise.all([
      api('GET', `${C}/flavors/detail`).then((b) => b.flavors),
      api('GET', '/image/v2/images?limit=1000').then((b) => b.images),
      api('GET', '/network/v2.0/networks').then((b) => b.networks),
      api('GET', `${C}/os-keypairs`).then((b) => b.keypairs.map((x) => x.keypair)),
      api('GET', '/volume/v3/volumes/detail').then((b) => b.volumes),
      api('GET', '/network/v2.0/floatingips').then((b) => b.floatingips),
    ]);
    return { flavors: f, images: i, nets: n, keys: k, vols: v, fips: fip };
  }, [], 10000);
  const [error, setError] = useState(null);
  const [open, setOpen] = useState(null); // {kind: 'console'|'log', server}
  const r = refs.data || {};
  const opt = (rows, none) => [...(none ? [{ value: '', label: none }] : []), ...(rows || []).map((x) => ({ value: x.id || x.name, label: x.name || x.id }))];
  async function launch(v) {
    const s = { name: v.name, flavorRef: v.flavor, networks: v.network ? [{ uuid: v.network }] : 'none' };
    if (v.volume) s.block_device_mapping_v2 = [{ boot_index: 0, uuid: v.volume, source_type: 'volume', destination_type: 'volume' }];
    else s.imageRef = v.image;
    if (v.key_name) s.key_name = v.key_name;
    if (v.user_data) s.user_data = btoa(unescape(encodeURIComponent(v.user_data)));
    await api('POST', `${C}/servers`, { server: s }, { 'OpenStack-API-Version': 'compute 2.37', 'X-OpenStack-Nova-API-Version': '2.37' });
    list.reload();
  }
  const action = (s, body) => () => api('POST', `${C}/servers/${s.id}/action`, body).then(list.reload);
  const freeVols = (r.vols || []).filter((v) => v.status === 'available');
  const freeFips = (r.fips || []).filter((f) => !f.port_id);
  async function attach(s) {
    const vol = freeVols[0];
    if (!vol) throw new Error('No available volume to attach.');
    await api('POST', `${C}/servers/${s.id}/os-volume_attachments`, { volumeAttachment: { volumeId: vol.id } });
  }
  async function associate(s) {
    const fip = freeFips[0];
    if (!fip) throw new Error('No free floating IP: allocate one on the Networks page.');
    const ports = (await api('GET', `/network/v2.0/ports?device_id=${s.id}`)).ports;
    if (!ports.length) throw new Error('The server has no port.');
    await api('PUT', `/network/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: ports[0].id } });
  }
  return html`<h1>Servers</h1>
    <${ErrorBox} error=${error || list.error} />
    <${Table} caption="Servers" rows=${list.data} columns=${[
      { label: 'Name', get: (s) => s.name },
      { label: 'Status', get: (s) => html`<span class=${`st ${s.status}`} data-testid="server-status">${s.status}</span>` },
      { label: 'Addresses', get: (s) => Object.entries(s.addresses || {}).map(([n, a]) => `${n}: ${a.map((x) => x.addr).join(' ')}`).join('; ') },
      { label: 'Flavor', get: (s) => (s.flavor && (s.flavor.original_name || ((r.flavors || []).find((f) => f.id === s.flavor.id) || s.flavor).name || s.flavor.id)) || '' },
    ]} actions=${(s) => html`
      <${Action} label="Console" name=${s.name} fn=${() => setOpen({ kind: 'console', server: s })} onError=${setError} />
      <${Action} label="Log" name=${s.name} fn=${() => setOpen({ kind: 'log', server: s })} onError=${setError} />
      ${s.status === 'SHUTOFF' ? html`<${Action} label="Start" name=${s.name} fn=${action(s, { 'os-start': null })} onError=${setError} />`
        : html`<${Action} label="Stop" name=${s.name} fn=${action(s, { 'os-stop': null })} onError=${setError} />`}
      <${Action} label="Reboot" name=${s.name} fn=${action(s, { reboot: { type: 'SOFT' } })} onError=${setError} />
      <${Action} label="Attach volume" name=${s.name} fn=${() => attach(s)} onError=${setError} />
      <${Action} label="Associate floating IP" name=${s.name} fn=${() => associate(s)} onError=${setError} />
      <${Action} label="Delete" name=${s.name} danger fn=${() => api('DELETE', `${C}/servers/${s.id}`).then(list.reload)} onError=${setError} />`} />
    ${open && open.kind === 'console' ? html`<${Console} server=${open.server} onClose=${() => setOpen(null)} />` : null}
    ${open && open.kind === 'log' ? html`<${ConsoleLog} server=${open.server} onClose=${() => setOpen(null)} />` : null}
    <${ErrorBox} error=${refs.error} />
    <${Form} title="Launch server" submit="Launch" action=${launch} fields=${[
      { label: 'Server name', name: 'name', required: true },
      { label: 'Image', name: 'image', options: opt(r.images, '(boot from volume)') },
      { label: 'Boot volume', name: 'volume', options: opt(freeVols, '(boot from image)') },
      { label: 'Flavor', name: 'flavor', options: opt(r.flavors) },
      { label: 'Network', name: 'network', options: opt(r.nets, '(none)') },
      { label: 'Key pair', name: 'key_name', options: [{ value: '', label: '(none)' }, ...(r.keys || []).map((k) => ({ value: k.name, label: k.name }))] },
      { label: 'User data', name: 'user_data', type: 'textarea' },
    ]} />`;
}
