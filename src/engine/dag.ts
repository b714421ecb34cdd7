// The stage graph as text (an indented tree of upstream edges), Mermaid or Graphviz dot, or JSON.
import type { Pipeline } from './pipeline.js';

export type DagFormat = 'text' | 'mermaid' | 'dot' | 'json';

function id(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

export interface DagJson {
  stages: { stage: string; description?: string; kind: 'module' | 'cmd'; run?: string; cmd?: string[]; upstream: string[]; params: string[]; deps: string[]; outs: { name: string; kind: string; path?: string; schema?: string }[] }[];
  edges: { from: string; to: string; output: string; as: string }[];
}

export function dagJson(pipeline: Pipeline): DagJson {
  const stages = pipeline.order.map((name) => {
    const s = pipeline.stages[name];
    return {
      stage: name,
      ...(s.description !== undefined ? { description: s.description } : {}),
      kind: s.run !== undefined ? ('module' as const) : ('cmd' as const),
      ...(s.run !== undefined ? { run: s.run } : {}),
      ...(s.cmd !== undefined ? { cmd: s.cmd } : {}),
      upstream: s.upstream,
      params: s.params,
      deps: s.deps,
      outs: s.outs.map((o) => ({ name: o.name, kind: o.kind, ...(o.path ? { path: o.path } : {}), ...(o.schema ? { schema: o.schema } : {}) })),
    };
  });
  const edges = pipeline.order.flatMap((name) => pipeline.stages[name].inputs.map((i) => ({ from: i.stage, to: name, output: i.output, as: i.name })));
  return { stages, edges };
}

export function formatDag(pipeline: Pipeline, format: DagFormat = 'text'): string {
  const edges = dagJson(pipeline).edges;
  switch (format) {
    case 'json':
      return JSON.stringify(dagJson(pipeline), null, 2);
    case 'mermaid': {
      const lines = ['flowchart LR'];
      for (const name of pipeline.order) lines.push(`  ${id(name)}["${name}"]`);
      const grouped = new Map<string, string[]>();
      for (const e of edges) {
        const k = `${e.from}→${e.to}`;
        grouped.set(k, [...(grouped.get(k) ?? []), e.output]);
      }
      for (const [k, outs] of grouped) {
        const [from, to] = k.split('→');
        lines.push(`  ${id(from)} -->|${outs.join(', ')}| ${id(to)}`);
      }
      return lines.join('\n');
    }
    case 'dot': {
      const lines = ['digraph pipeline {', '  rankdir=LR;', '  node [shape=box];'];
      for (const name of pipeline.order) lines.push(`  "${name}";`);
      for (const e of edges) lines.push(`  "${e.from}" -> "${e.to}" [label="${e.output}"];`);
      lines.push('}');
      return lines.join('\n');
    }
    default: {
      const width = Math.max(...pipeline.order.map((n) => n.length));
      const lines: string[] = [];
      for (const name of pipeline.order) {
        const s = pipeline.stages[name];
        const from = s.inputs.map((i) => `${i.stage}.${i.output}`);
        const outs = s.outs.map((o) => (o.kind === 'json' ? o.name : `${o.name} (${o.path})`));
        lines.push(`${name.padEnd(width)}  ${from.length ? `← ${from.join(', ')}` : '(source)'}${outs.length ? `  → ${outs.join(', ')}` : ''}`);
      }
      return lines.join('\n');
    }
  }
}
