/**
 * core/report/html: the report as one self-contained HTML page — inline CSS and SVG, no script,
 * no network, no external assets — so it opens from a mail attachment or a USB stick years later.
 */
import { formatSize } from '../size.js';
import { TIERS, type Tier } from '../naming.js';
import type { ReportModel, ReportRun, ReportSet, ReportSource } from './model.js';

/** TIER_COLOURS are the tiers' colours in the timeline, the table and the legend. */
export const TIER_COLOURS: Record<Tier, string> = { daily: '#3b82f6', weekly: '#16a34a', monthly: '#f59e0b', yearly: '#c026d3' };

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** escapeHtml makes text safe inside HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const WIDTH = 900;
const LEFT = 80;
const RIGHT = 20;

function when(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}

function timeScale(from: number, to: number): (t: number) => number {
  const span = Math.max(to - from, 24 * 3600 * 1000);
  return (t) => LEFT + ((t - from) / span) * (WIDTH - LEFT - RIGHT);
}

function axisLabels(from: number, to: number, y: number): string {
  const x = timeScale(from, to);
  const ticks = 5;
  let out = '';
  for (let i = 0; i <= ticks; i++) {
    const t = from + ((to - from) * i) / ticks;
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    out += `<text x="${x(t).toFixed(1)}" y="${y}" class="axis" text-anchor="${anchor}">${new Date(t).toISOString().slice(0, 10)}</text>`;
  }
  return out;
}

/** timeline draws a source's sets on four rows, one per tier, with each INCR linked to its base. */
function timeline(src: ReportSource, now: number): string {
  const first = src.sets[0];
  if (first === undefined) return '';
  const from = Date.parse(first.created);
  const x = timeScale(from, now);
  const rowY = (t: Tier): number => 20 + TIERS.indexOf(t) * 28;
  const byId = new Map(src.sets.map((s) => [s.id, s]));
  let links = '';
  let marks = '';
  for (const s of src.sets) {
    const sx = x(Date.parse(s.created));
    const base = s.chain[1] === undefined ? undefined : byId.get(s.chain[1]);
    if (base !== undefined) {
      links += `<line class="chain" x1="${x(Date.parse(base.created)).toFixed(1)}" y1="${rowY(base.tier)}" x2="${sx.toFixed(1)}" y2="${rowY(s.tier)}"/>`;
    }
    const size = s.type === 'FULL' ? 14 : 9;
    const cls = `set tier-${s.tier}${s.broken.length > 0 ? ' broken' : ''}`;
    marks +=
      `<rect class="${cls}" data-set="${escapeHtml(s.id)}" x="${(sx - size / 2).toFixed(1)}" y="${rowY(s.tier) - size / 2}" width="${size}" height="${size}" fill="${TIER_COLOURS[s.tier]}">` +
      `<title>${escapeHtml(`${s.id} — ${s.tier} ${s.type}, ${when(s.created)}, ${formatSize(s.bytes)}`)}</title></rect>`;
  }
  const rows = TIERS.map((t) => `<text x="${LEFT - 10}" y="${rowY(t) + 4}" class="axis" text-anchor="end">${t}</text><line class="row" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${rowY(t)}" y2="${rowY(t)}"/>`).join('');
  const height = 20 + TIERS.length * 28 + 10;
  return `<svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="sets of ${escapeHtml(src.name)} by tier over time">${rows}${links}${marks}${axisLabels(from, now, height - 2)}</svg>`;
}

/** sizeChart draws the stored size of the source's sets, summed over time. */
function sizeChart(src: ReportSource, now: number): string {
  const first = src.storedOverTime[0];
  if (first === undefined) return '';
  const from = Date.parse(first.at);
  const x = timeScale(from, now);
  const height = 140;
  const max = Math.max(...src.storedOverTime.map((p) => p.bytes), 1);
  const y = (b: number): number => 10 + (1 - b / max) * (height - 40);
  let d = `M${x(from).toFixed(1)},${y(0).toFixed(1)}`;
  let prev = 0;
  for (const p of src.storedOverTime) {
    const px = x(Date.parse(p.at)).toFixed(1);
    d += ` L${px},${y(prev).toFixed(1)} L${px},${y(p.bytes).toFixed(1)}`;
    prev = p.bytes;
  }
  d += ` L${x(now).toFixed(1)},${y(prev).toFixed(1)}`;
  return (
    `<svg class="stored" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="stored size of ${escapeHtml(src.name)} over time">` +
    `<text x="${LEFT - 10}" y="${y(max) + 4}" class="axis" text-anchor="end">${formatSize(max)}</text><text x="${LEFT - 10}" y="${y(0) + 4}" class="axis" text-anchor="end">0</text>` +
    `<path class="size" d="${d}"/>${axisLabels(from, now, height - 4)}</svg>`
  );
}

function survives(s: ReportSet): string {
  if (s.survives === null) return 'no recovery data';
  const v = s.survives;
  return `${v.wholeVolumes} of ${v.volumes} volume${v.volumes === 1 ? '' : 's'} lost, or ${formatSize(v.scatteredBytes)} of scattered damage, or a ${formatSize(v.contiguousBytes)} run (${v.strategy})`;
}

function setRow(s: ReportSet): string {
  const chain = s.chain.length > 1 ? s.chain.slice(1).join(' ← ') : '—';
  return (
    `<tr class="set-row${s.broken.length > 0 ? ' broken' : ''}" data-set="${escapeHtml(s.id)}"><td><code>${escapeHtml(s.id)}</code></td>` +
    `<td><span class="tier" style="background:${TIER_COLOURS[s.tier]}">${s.tier}</span></td><td>${s.type}</td><td class="when">${when(s.created)}</td>` +
    `<td class="num">${formatSize(s.bytes)}</td><td class="num">${s.files}</td><td class="num">${s.recoveryPercent}%</td><td>${escapeHtml(survives(s))}</td>` +
    `<td>${escapeHtml(chain)}${s.broken.length > 0 ? `<br><strong>cannot be restored: needs ${escapeHtml(s.broken.join('; '))}</strong>` : ''}</td></tr>`
  );
}

function sourceSection(src: ReportSource, now: number): string {
  const counts = TIERS.map((t) => `${src.tierCounts[t]} ${t}`).join(', ');
  const newest = src.newest === null ? 'none' : `${escapeHtml(src.newest.id)}, ${src.newest.ageHours < 48 ? `${Math.round(src.newest.ageHours)} hours` : `${Math.floor(src.newest.ageHours / 24)} days`} old`;
  return (
    `<section class="source" data-source="${escapeHtml(src.name)}"><h2>${escapeHtml(src.name)}</h2>` +
    `<p>${src.sets.length} complete set${src.sets.length === 1 ? '' : 's'} (${counts}); newest: ${newest}.</p>` +
    `<h3>Sets by tier</h3>${timeline(src, now)}<h3>Stored size</h3>${sizeChart(src, now)}` +
    `<h3>Sets</h3><table class="sets"><thead><tr><th>Set</th><th>Tier</th><th>Type</th><th>Made</th><th>Stored</th><th>Entries</th><th>Recovery</th><th>Survives</th><th>Chain</th></tr></thead>` +
    `<tbody>${[...src.sets].reverse().map(setRow).join('')}</tbody></table></section>`
  );
}

function runRow(r: ReportRun): string {
  return (
    `<tr class="run ${r.result === 'ok' ? 'ok' : 'failed'}"><td class="when">${when(r.start)}</td><td>${escapeHtml(r.command)}</td><td>${escapeHtml(r.result)}</td><td class="num">${r.exitCode}</td>` +
    `<td>${escapeHtml(r.sets.join(', '))}</td><td>${escapeHtml(r.error ?? '')}</td></tr>`
  );
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2937;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 4px;border-bottom:1px solid #e5e7eb}h3{font-size:14px;margin:14px 0 4px;color:#4b5563}
table{border-collapse:collapse;margin:6px 0}td,th{border-bottom:1px solid #e5e7eb;padding:3px 8px;text-align:left;vertical-align:top}
td.num,td.when{text-align:right;white-space:nowrap}td.when{text-align:left}.tier{color:#fff;border-radius:3px;padding:0 6px}
tr.broken td,tr.run.failed td{background:#fee2e2}
.warnings{background:#fef3c7;border:1px solid #f59e0b;padding:8px 14px;margin:12px 0}.warnings.none{background:#dcfce7;border-color:#16a34a}
svg text.axis{font-size:11px;fill:#6b7280}svg line.row{stroke:#e5e7eb}svg line.chain{stroke:#9ca3af;stroke-width:1}
svg rect.broken{stroke:#dc2626;stroke-width:2}svg path.size{fill:none;stroke:#2563eb;stroke-width:2}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
`;

/** renderHtml renders the whole report page. */
export function renderHtml(model: ReportModel): string {
  const now = Date.parse(model.generated);
  const warnings =
    model.warnings.length === 0
      ? `<div class="warnings none">No warnings.</div>`
      : `<div class="warnings"><strong>${model.warnings.length} warning${model.warnings.length === 1 ? '' : 's'}</strong><ul>${model.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`;
  const legend = `<p class="legend">${TIERS.map((t) => `<span><i style="background:${TIER_COLOURS[t]}"></i>${t}</span>`).join('')}<span>large mark: FULL, small: INCR; lines join an INCR to the set it builds on</span></p>`;
  const runs =
    model.runs.length === 0
      ? '<p>No runs recorded on this machine.</p>'
      : `<table class="runs"><thead><tr><th>Started</th><th>Command</th><th>Result</th><th>Exit</th><th>Sets</th><th>Error</th></tr></thead><tbody>${model.runs.map(runRow).join('')}</tbody></table>`;
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<title>strata report — ${escapeHtml(model.job ?? model.destination)}</title><style>${STYLE}</style></head><body>` +
    `<h1>strata backups${model.job === null ? '' : ` of job ${escapeHtml(model.job)}`}</h1>` +
    `<p>Destination ${escapeHtml(model.destination)} · ${formatSize(model.totalBytes)} stored · generated ${when(model.generated)} UTC</p>` +
    warnings + legend + model.sources.map((s) => sourceSection(s, now)).join('') +
    `<h2>Recent runs</h2>${runs}</body></html>\n`
  );
}
