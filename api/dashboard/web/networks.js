// Networks: networks and subnets, routers (gateway, interfaces), floating
// IPs, security groups and rules, and the topology drawn as SVG.
import { html, useState, api, useLoad, ErrorBox, Table, Action, Form } from '/dashboard/ui.js';

const N = '/network/v2.0';

// External networks on top, then routers, networks, servers; a line for
// each link (router gateway or interface, server port). Names are SVG
// <text> content: text, never markup.
function Topology({ nets, routers, ports, servers }) {
  const ext = nets.filter((n) => n['router:external']);
  const inner = nets.filter((n) => !n['router:external']);
  const kinds = ['external network', 'router', 'network', 'server'];
  const rows = [ext, routers, inner, servers].map((r, k) => r.map((o) => ({ ...o, k }))).filter((r) => r.length);
  const W = 150, H = 70, pos = {};
  rows.forEach((row, y) => row.forEach((o, x) => { pos[o.id] = { x: 10 + x * W, y: 10 + y * H }; }));
  const links = [];
  for (const r of routers) {
    const g = r.external_gateway_info && r.external_gateway_info.network_id;
    if (g && pos[g]) links.push([r.id, g]);
  }
  for (const p of ports) {
    if (p.device_owner === 'network:router_interface' && pos[p.device_id]) links.push([p.device_id, p.network_id]);
    if ((p.device_owner || '').startsWith('compute:') && pos[p.device_id]) links.push([p.device_id, p.network_id]);
  }
  const width = Math.max(320, ...rows.map((r) => 20 + r.length * W));
  return html`<figure class="card"><figcaption>Topology</figcaption><div class="scroll">
    <svg role="img" aria-label="Network topology" width=${width} height=${rows.length * H} viewBox=${`0 0 ${width} ${rows.length * H}`}>
      ${links.filter(([a, b]) => pos[a] && pos[b]).map(([a, b]) => html`<line x1=${pos[a].x + 65} y1=${pos[a].y + 20} x2=${pos[b].x + 65} y2=${pos[b].y + 20} class="link" />`)}
      ${rows.map((row) => row.map((o) => html`<g class=${`node k${o.k}`}>
        <title>${kinds[o.k]} ${o.name}</title>
        <rect x=${pos[o.id].x} y=${pos[o.id].y} width="130" height="40" rx="6" />
        <text x=${pos[o.id].x + 65} y=${pos[o.id].y + 25} text-anchor="middle">${(o.name || o.id).slice(0, 18)}</text>
      </g>`))}
    </svg></div></figure>`;
}

export default function Networks() {
  const all = useLoad(async () => {
    const [n, s, r, p, f, g, sv] = await Promise.all(['networks', 'subnets', 'routers', 'ports', 'floatingips', 'security-groups']
      .map((k) => api('GET', `${N}/${k}`)).concat(api('GET', '/compute/v2.1/servers/detail').catch(() => ({ servers: [] }))));
    return { nets: n.networks, subnets: s.subnets, routers: r.routers, ports: p.ports, fips: f.floatingips, sgs: g.security_groups, servers: sv.servers };
  }, [], 5000);
  const [error, setError] = useState(null);
  const d = all.data;
  const reload = all.reload;
  const opt = (rows, label = (x) => x.name || x.id) => (rows || []).map((x) => ({ value: x.id, label: label(x) }));
  async function createNet(v) {
    const net = (await api('POST', `${N}/networks`, { network: { name: v.name } })).network;
    if (v.cidr) {
      try {
        await api('POST', `${N}/subnets`, { subnet: { name: v.subnet_name || `${v.name}-subnet`, network_id: net.id, ip_version: 4, cidr: v.cidr } });
      } finally { reload(); }
    }
    reload();
  }
  async function createRouter(v) {
    const body = { name: v.name };
    if (v.gateway) body.external_gateway_info = { network_id: v.gateway };
    await api('POST', `${N}/routers`, { router: body });
    reload();
  }
  async function addIface(v) {
    await api('PUT', `${N}/routers/${v.router}/add_router_interface`, { subnet_id: v.subnet });
    reload();
  }
  if (!d) return html`<h1>Networks</h1><${ErrorBox} error=${all.error} /><p>Loading…</p>`;
  const ext = d.nets.filter((n) => n['router:external']);
  const del = (kind, x) => () => api('DELETE', `${N}/${kind}/${x.id}`).then(reload);
  return html`<h1>Networks</h1>
    <${ErrorBox} error=${error || all.error} />
    <${Topology} ...${d} />
    <${Table} caption="Networks" rows=${d.nets} columns=${[
      { label: 'Name', get: (n) => n.name },
      { label: 'Subnets', get: (n) => d.subnets.filter((s) => s.network_id === n.id).map((s) => `${s.name} ${s.cidr}`).join(', ') },
      { label: 'External', get: (n) => (n['router:external'] ? 'yes' : 'no') },
      { label: 'Status', get: (n) => n.status },
    ]} actions=${(n) => html`<${Action} label="Delete" name=${n.name} danger fn=${del('networks', n)} onError=${setError} />`} />
    <${Form} title="Create network" submit="Create network" action=${createNet} fields=${[
      { label: 'Network name', name: 'name', required: true },
      { label: 'Subnet name', name: 'subnet_name' },
      { label: 'Subnet CIDR (e.g. 10.0.0.0/24)', name: 'cidr' },
    ]} />
    <${Table} caption="Routers" rows=${d.routers} columns=${[
      { label: 'Name', get: (r) => r.name },
      { label: 'Gateway', get: (r) => (r.external_gateway_info ? (d.nets.find((n) => n.id === r.external_gateway_info.network_id) || {}).name : '') },
      { label: 'Interfaces', get: (r) => d.ports.filter((p) => p.device_id === r.id && p.device_owner === 'network:router_interface').map((p) => (p.fixed_ips[0] || {}).ip_address).join(', ') },
    ]} actions=${(r) => html`<${Action} label="Delete" name=${r.name} danger fn=${del('routers', r)} onError=${setError} />`} />
    <${Form} title="Create router" submit="Create router" action=${createRouter} fields=${[
      { label: 'Router name', name: 'name', required: true },
      { label: 'External gateway', name: 'gateway', options: [{ value: '', label: '(none)' }, ...opt(ext)] },
    ]} />
    <${Form} title="Add router interface" submit="Add interface" action=${addIface} fields=${[
      { label: 'Router', name: 'router', options: opt(d.routers) },
      { label: 'Subnet', name: 'subnet', options: opt(d.subnets, (s) => `${s.name} ${s.cidr}`) },
    ]} />
    <${Table} caption="Floating IPs" rows=${d.fips} columns=${[
      { label: 'Address', get: (f) => f.floating_ip_address },
      { label: 'Fixed address', get: (f) => f.fixed_ip_address || '' },
      { label: 'Status', get: (f) => f.status },
    ]} actions=${(f) => html`<${Action} label="Release" name=${f.floating_ip_address} danger fn=${del('floatingips', f)} onError=${setError} />`} />
    ${ext.length ? html`<${Form} title="Allocate floating IP" submit="Allocate" action=${(v) => api('POST', `${N}/floatingips`, { floatingip: { floating_network_id: v.net } }).then(reload)}
      fields=${[{ label: 'From network', name: 'net', options: opt(ext) }]} />` : null}
    <${Table} caption="Security groups" rows=${d.sgs} columns=${[
      { label: 'Name', get: (g) => g.name },
      { label: 'Rules', get: (g) => html`<ul class="rules">${(g.security_group_rules || []).map((r) => html`<li key=${r.id}>${r.direction} ${r.ethertype} ${r.protocol || 'any'} ${r.port_range_min || ''}${r.port_range_max && r.port_range_max !== r.port_range_min ? `-${r.port_range_max}` : ''} ${r.remote_ip_prefix || ''}</li>`)}</ul>` },
    ]} actions=${(g) => html`<${Action} label="Delete" name=${g.name} danger fn=${del('security-groups', g)} onError=${setError} />`} />
    <${Form} title="Create security group" submit="Create security group" action=${(v) => api('POST', `${N}/security-groups`, { security_group: { name: v.name } }).then(reload)}
      fields=${[{ label: 'Group name', name: 'name', required: true }]} />
    <${Form} title="Add rule (ingress)" submit="Add rule" action=${(v) => api('POST', `${N}/security-group-rules`, { security_group_rule: {
      security_group_id: v.group, direction: 'ingress', ethertype: 'IPv4', protocol: v.protocol || null,
      port_range_min: v.port ? Number(v.port) : null, port_range_max: v.port ? Number(v.port) : null, remote_ip_prefix: v.prefix || null } }).then(reload)}
      fields=${[{ label: 'Security group', name: 'group', options: opt(d.sgs) },
        { label: 'Protocol', name: 'protocol', options: ['tcp', 'udp', 'icmp', ''].map((x) => ({ value: x, label: x || 'any' })) },
        { label: 'Port', name: 'port', type: 'number' }, { label: 'Remote CIDR', name: 'prefix', placeholder: '0.0.0.0/0' }]} />`;
}
