// Overview: live host figures (admins: /dashboard/api/summary every 3 s,
// drawn with uPlot) and the project's quotas and usage.
import { html, useState, useEffect, useRef, api, useLoad, ErrorBox, fmtBytes, loadScript } from '/dashboard/ui.js';

const POINTS = 60;

function Chart({ title, series, unit }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    let gone = false;
    loadScript('/dashboard/vendor/uPlot.js', '/dashboard/vendor/uPlot.css').then(() => {
      if (gone || !box.current) return;
      const width = Math.min(box.current.clientWidth || 320, 560);
      plot.current = new window.uPlot({
        width, height: 160, legend: { show: true },
        scales: { y: { range: unit === '%' ? [0, 100] : undefined } },
        series: [{}, ...series.names.map((n, i) => ({ label: n, stroke: ['#2563eb', '#dc2626', '#16a34a'][i], width: 2 }))],
        axes: [{}, { size: 70, values: (u, v) => v.map((x) => (unit === '%' ? `${x}%` : fmtBytes(x))) }],
      }, series.data, box.current);
    });
    return () => { gone = true; if (plot.current) plot.current.destroy(); };
  }, []);
  useEffect(() => { if (plot.current) plot.current.setData(series.data); });
  return html`<figure class="card chart"><figcaption>${title}</figcaption><div ref=${box}></div></figure>`;
}

function Host() {
  const hist = useRef({ t: [], cpu: [], mem: [], bsUsed: [], bsShared: [], last: null });
  const [tick, setTick] = useState(0);
  const [error, setError] = useState(null);
  const [now, setNow] = useState(null);
  useEffect(() => {
    let stop = false;
    async function poll() {
      try {
        const s = await api('GET', '/dashboard/api/summary');
        if (stop || !s.host) return;
        const h = hist.current, last = h.last;
        const cpu = last && s.host.cpu_total_jiffies > last.cpu_total_jiffies
          ? (100 * (s.host.cpu_busy_jiffies - last.cpu_busy_jiffies)) / (s.host.cpu_total_jiffies - last.cpu_total_jiffies) : null;
        h.last = s.host;
        const push = (k, v) => { h[k].push(v); if (h[k].length > POINTS) h[k].shift(); };
        push('t', s.time); push('cpu', cpu);
        push('mem', s.host.mem_total_bytes - s.host.mem_available_bytes);
        push('bsUsed', s.blockstore ? s.blockstore.used_bytes : null);
        push('bsShared', s.blockstore ? s.blockstore.shared_bytes : null);
        setNow(s); setError(null); setTick((x) => x + 1);
      } catch (e) { setError(e); }
    }
    poll();
    const t = setInterval(poll, 3000);
    return () => { stop = true; clearInterval(t); };
  }, []);
  const h = hist.current;
  if (!now) return html`<${ErrorBox} error=${error} />`;
  const bs = now.blockstore;
  return html`<section aria-labelledby="host-h"><h2 id="host-h">Host</h2>
    <${ErrorBox} error=${error} />
    <dl class="stats">
      <div><dt>CPUs</dt><dd>${now.host.cpus}</dd></div>
      <div><dt>CPU busy</dt><dd>${h.cpu.at(-1) == null ? '–' : `${h.cpu.at(-1).toFixed(1)} %`}</dd></div>
      <div><dt>Memory used</dt><dd>${fmtBytes(now.host.mem_total_bytes - now.host.mem_available_bytes)} of ${fmtBytes(now.host.mem_total_bytes)}</dd></div>
      <div><dt>picostackd RSS</dt><dd>${fmtBytes(now.host.picostackd_rss_bytes)}</dd></div>
      ${bs ? html`<div><dt>Block store used</dt><dd>${fmtBytes(bs.used_bytes)}</dd></div>
        <div><dt>Shared by clones</dt><dd>${fmtBytes(bs.shared_bytes)}</dd></div>
        <div><dt>Free (reusable)</dt><dd>${fmtBytes(bs.free_bytes)}</dd></div>
        <div><dt>Filesystem free</dt><dd>${fmtBytes(bs.fs_free_bytes)}</dd></div>` : null}
    </dl>
    <div class="charts" data-tick=${tick}>
      <${Chart} title="CPU busy (%)" unit="%" series=${{ names: ['CPU'], data: [h.t, h.cpu] }} />
      <${Chart} title="Memory used" series=${{ names: ['Memory'], data: [h.t, h.mem] }} />
      ${bs ? html`<${Chart} title="Block store" series=${{ names: ['used', 'shared'], data: [h.t, h.bsUsed, h.bsShared] }} />` : null}
    </div></section>`;
}

function Quotas({ me }) {
  const q = useLoad(async () => {
    const [c, v, n] = await Promise.all([
      api('GET', '/compute/v2.1/limits'),
      api('GET', '/volume/v3/limits').catch(() => null),
      api('GET', `/network/v2.0/quotas/${me.project_id}/details`).catch(() => null),
    ]);
    return { c: c.limits.absolute, v: v && v.limits.absolute, n: n && n.quota };
  }, [], 5000);
  if (!q.data) return html`<${ErrorBox} error=${q.error} />`;
  const { c, v, n } = q.data;
  const rows = [
    ['Servers', c.totalInstancesUsed, c.maxTotalInstances],
    ['vCPUs', c.totalCoresUsed, c.maxTotalCores],
    ['RAM (MiB)', c.totalRAMUsed, c.maxTotalRAMSize],
    ...(v ? [['Volumes', v.totalVolumesUsed, v.maxTotalVolumes], ['Volume GiB', v.totalGigabytesUsed, v.maxTotalVolumeGigabytes]] : []),
    ...(n ? ['network', 'subnet', 'router', 'floatingip', 'port'].filter((k) => n[k]).map((k) => [`${k}s`, n[k].used, n[k].limit]) : []),
  ];
  return html`<section aria-labelledby="quota-h"><h2 id="quota-h">Project ${me.project_name}: usage and quotas</h2>
    <ul class="quotas">${rows.map(([label, used, max]) => html`<li>
      <span>${label}</span><meter min="0" max=${max > 0 ? max : used || 1} value=${used} aria-label=${`${label} used`}></meter>
      <span>${used} / ${max < 0 ? '∞' : max}</span></li>`)}</ul></section>`;
}

export default function Overview({ me }) {
  return html`<h1>Overview</h1>${me.admin ? html`<${Host} />` : null}<${Quotas} me=${me} />`;
}
