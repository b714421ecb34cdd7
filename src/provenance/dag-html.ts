// `spillway dag --format html`: one self-contained page (inline SVG and CSS, no script, nothing fetched) that draws the
// stage graph coloured by each stage's state, with the reason, in the spirit of targets' tar_visnetwork.
import type { DagJson } from '../engine/dag.js';

export type DrawnState = 'up-to-date' | 'stale' | 'upstream-stale' | 'restorable' | 'failed' | 'never-run';

export interface StageView {
  stage: string;
  state: DrawnState;
  /** why it is not up to date (one line each) */
  reasons: string[];
}

export const STATE_STYLE: Record<DrawnState, { label: string; fill: string; stroke: string }> = {
  'up-to-date': { label: 'up to date', fill: '#c8e6c9', stroke: '#2e7d32' },
  stale: { label: 'stale', fill: '#ffe0b2', stroke: '#e65100' },
  'upstream-stale': { label: 'upstream stale', fill: '#fff9c4', stroke: '#f9a825' },
  restorable: { label: 'restorable from the run cache', fill: '#bbdefb', stroke: '#1565c0' },
  failed: { label: 'failed', fill: '#ffcdd2', stroke: '#c62828' },
  'never-run': { label: 'never run', fill: '#eeeeee', stroke: '#757575' },
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const NODE_W = 180;
const NODE_H = 46;
const GAP_X = 90;
const GAP_Y = 28;
const PAD = 24;

/** Layered layout: a stage's column is the longest path from a source; rows in pipeline order within a column. */
export function layout(dag: DagJson, top = PAD + 30): Map<string, { x: number; y: number; column: number; row: number }> {
  const column = new Map<string, number>();
  for (const s of dag.stages) column.set(s.stage, Math.max(0, ...s.upstream.map((u) => (column.get(u) ?? 0) + 1)));
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number; column: number; row: number }>();
  for (const s of dag.stages) {
    const c = column.get(s.stage) ?? 0;
    const r = rows.get(c) ?? 0;
    rows.set(c, r + 1);
    at.set(s.stage, { x: PAD + c * (NODE_W + GAP_X), y: top + r * (NODE_H + GAP_Y), column: c, row: r });
  }
  return at;
}

export function renderDagHtml(dag: DagJson, views: StageView[], options: { title: string; generated: string }): string {
  const view = new Map(views.map((v) => [v.stage, v]));
  const edges = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const e of dag.edges) {
    const k = `${e.from}\0${e.to}`;
    edges.set(k, { from: e.from, to: e.to, labels: [...(edges.get(k)?.labels ?? []), e.output] });
  }
  // An edge that skips columns would cross the boxes between its ends: it runs in its own lane above the graph.
  const columns = layout(dag);
  const long = [...edges.values()].filter((e) => columns.get(e.to)!.column - columns.get(e.from)!.column > 1);
  const LANE = 9;
  const top = PAD + 30 + long.length * LANE;
  const at = layout(dag, top);
  const width = Math.max(...[...at.values()].map((p) => p.x + NODE_W), 300) + PAD;
  const height = Math.max(...[...at.values()].map((p) => p.y + NODE_H), 100) + PAD;
  const svgEdges = [...edges.values()].map((e) => {
    const a = at.get(e.from)!;
    const b = at.get(e.to)!;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x - 6;
    const y2 = b.y + NODE_H / 2;
    const label = e.labels.join(', ');
    const lane = long.indexOf(e);
    let d: string;
    if (lane < 0) {
      const mx = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
    } else {
      // up into the lane just after leaving the box, along it, and down just before the target column
      const ly = top - 12 - lane * LANE;
      const ax = x1 + GAP_X * 0.45;
      const bx = b.x - GAP_X * 0.45;
      d = `M${x1},${y1} C${ax},${y1} ${x1},${ly} ${ax},${ly} L${bx},${ly} C${x2},${ly} ${bx},${y2} ${x2},${y2}`;
    }
    return `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><title>${esc(`${e.from} → ${e.to}: ${label}`)}</title><path d="${d}" fill="none" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/></g>`;
  });
  const svgNodes = dag.stages.map((s) => {
    const p = at.get(s.stage)!;
    const v = view.get(s.stage) ?? { stage: s.stage, state: 'never-run' as DrawnState, reasons: [] };
    const style = STATE_STYLE[v.state];
    const tip = [`${s.stage}: ${style.label}`, ...v.reasons.map((r) => `- ${r}`)].join('\n');
    const name = s.stage.length > 22 ? `${s.stage.slice(0, 21)}…` : s.stage;
    return `<g class="node" data-stage="${esc(s.stage)}" data-state="${v.state}"><title>${esc(tip)}</title><rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="8" fill="${style.fill}" stroke="${style.stroke}" stroke-width="2"/><text x="${p.x + NODE_W / 2}" y="${p.y + 20}" text-anchor="middle" class="name">${esc(name)}</text><text x="${p.x + NODE_W / 2}" y="${p.y + 36}" text-anchor="middle" class="state">${esc(style.label)}</text></g>`;
  });
  const legend = (Object.keys(STATE_STYLE) as DrawnState[])
    .map((k) => `<li data-state="${k}"><span class="swatch" style="background:${STATE_STYLE[k].fill};border-color:${STATE_STYLE[k].stroke}"></span>${esc(STATE_STYLE[k].label)} <span class="count">(${views.filter((v) => v.state === k).length})</span></li>`)
    .join('');
  const rows = dag.stages
    .map((s) => {
      const v = view.get(s.stage);
      const state = v?.state ?? 'never-run';
      return `<tr data-stage="${esc(s.stage)}"><td>${esc(s.stage)}</td><td><span class="swatch" style="background:${STATE_STYLE[state].fill};border-color:${STATE_STYLE[state].stroke}"></span>${esc(STATE_STYLE[state].label)}</td><td>${esc(s.kind === 'cmd' ? (s.cmd ?? []).join(' ') : (s.run ?? ''))}</td><td>${(v?.reasons ?? []).map(esc).join('<br>')}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(options.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; }
.meta { color: #666; margin: 0 0 12px; }
svg text.name { font: 600 14px system-ui, sans-serif; }
svg text.state { font: 11px system-ui, sans-serif; fill: #444; }
svg text.column { font: 11px system-ui, sans-serif; fill: #888; }
ul.legend { list-style: none; padding: 0; display: flex; gap: 16px; flex-wrap: wrap; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 2px solid; border-radius: 3px; margin-right: 6px; vertical-align: -2px; }
table { border-collapse: collapse; margin-top: 16px; }
td, th { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<h1>${esc(options.title)}</h1>
<p class="meta">${dag.stages.length} stage(s), ${edges.size} edge(s); state as of ${esc(options.generated)} (hover a stage for why)</p>
<ul class="legend">${legend}</ul>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="stage graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>
${svgEdges.join('\n')}
${svgNodes.join('\n')}
</svg>
<table>
<thead><tr><th>stage</th><th>state</th><th>code</th><th>why</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}
