// `spillway lineage TARGET`: everything an artifact was made from, read back from the lockfile.
import { SpillwayError } from '../errors.js';
import type { LockedOutput, LockedStage, Lockfile } from '../engine/lockfile-format.js';
import { splitRef } from './project.js';

export interface LineageArtifact {
  /** "stage.output" */
  ref: string;
  kind: LockedOutput['kind'];
  hash: string;
  size: number;
  path: string;
  /** for a file inside a dir output: that file */
  file?: { path: string; hash: string; size: number };
}

export interface LineageStage {
  stage: string;
  /** true when this stage was already expanded higher up in the tree (a shared upstream) */
  shown_above?: boolean;
  key?: string;
  code?: { hash: string; module?: string; cmd?: string[]; files: { path: string; hash: string }[] };
  params?: Record<string, unknown>;
  started?: string;
  ended?: string;
  duration_ms?: number;
  engine_version?: string;
  node_version?: string;
  /** raw files the stage declared as deps, with the hashes it read */
  deps?: { path: string; hash: string; size: number }[];
  /** upstream artifacts, each with the stage that made it */
  inputs?: { name: string; from: string; hash: string; made_by: LineageStage }[];
}

export interface Lineage {
  target: string;
  /** what the target resolved to */
  resolved: { kind: 'artifact'; artifacts: LineageArtifact[] } | { kind: 'raw'; path: string; hash: string; size: number; declared_by: string[] };
  /** the producing stage(s), with their upstream trees */
  made_by: LineageStage[];
  /** every raw file anywhere in the tree, deduplicated */
  raw_files: { path: string; hash: string; size: number }[];
  /** every stage in the tree, in dependency order (upstream first) */
  stages: string[];
}

/** Accepts `stage.output`, a stage name (all its outputs), or a project-relative file path (an output, a file inside a dir output, or a raw dep). */
export function lineage(lock: Lockfile, target: string, projectPath?: string): Lineage {
  const artifacts = resolveTarget(lock, target, projectPath ?? target);
  const expanded = new Set<string>();
  const order: string[] = [];
  const raw = new Map<string, { path: string; hash: string; size: number }>();

  const stageNode = (name: string): LineageStage => {
    const stage = lock.stages[name];
    if (!stage) return { stage: name };
    if (expanded.has(name)) return { stage: name, shown_above: true };
    expanded.add(name);
    const node = describeStage(name, stage);
    node.inputs = Object.entries(stage.inputs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([inputName, input]) => ({ name: inputName, from: input.from, hash: input.hash, made_by: stageNode(splitRef(input.from)[0]) }));
    for (const dep of node.deps ?? []) raw.set(`${dep.path}\0${dep.hash}`, dep);
    order.push(name);
    return node;
  };

  if (artifacts.kind === 'raw') {
    return { target, resolved: artifacts, made_by: [], raw_files: [{ path: artifacts.path, hash: artifacts.hash, size: artifacts.size }], stages: [] };
  }
  const producers = [...new Set(artifacts.artifacts.map((a) => splitRef(a.ref)[0]))];
  const madeBy = producers.map(stageNode);
  return {
    target,
    resolved: artifacts,
    made_by: madeBy,
    raw_files: [...raw.values()].sort((a, b) => a.path.localeCompare(b.path)),
    stages: order,
  };
}

function describeStage(name: string, stage: LockedStage): LineageStage {
  return {
    stage: name,
    key: stage.key,
    code: {
      hash: stage.code.hash,
      ...(stage.code.module !== undefined ? { module: stage.code.module } : {}),
      ...(stage.code.cmd !== undefined ? { cmd: stage.code.cmd } : {}),
      files: stage.code.files.map((f) => ({ path: f.path, hash: f.hash })),
    },
    params: stage.params,
    started: stage.run.started,
    ended: stage.run.ended,
    duration_ms: stage.run.duration_ms,
    engine_version: stage.run.engine_version,
    node_version: stage.run.node_version,
    deps: stage.deps.map((d) => ({ path: d.path, hash: d.hash, size: d.size })),
  };
}

function resolveTarget(lock: Lockfile, target: string, projectPath: string): Lineage['resolved'] {
  const artifact = (stage: string, name: string, out: LockedOutput, file?: LineageArtifact['file']): LineageArtifact => ({
    ref: `${stage}.${name}`,
    kind: out.kind,
    hash: out.hash,
    size: out.size,
    path: out.path,
    ...(file ? { file } : {}),
  });
  // 1. stage.output
  const [stageName, outName] = splitRef(target);
  const stage = lock.stages[stageName];
  if (stage && outName && stage.outs[outName]) return { kind: 'artifact', artifacts: [artifact(stageName, outName, stage.outs[outName])] };
  // 2. a stage: all of its outputs
  if (lock.stages[target]) {
    const outs = Object.entries(lock.stages[target].outs).sort(([a], [b]) => a.localeCompare(b));
    return { kind: 'artifact', artifacts: outs.map(([name, out]) => artifact(target, name, out)) };
  }
  // 3. a file path: an output's readable copy or store object, a file inside a dir output, or a raw dep
  const wanted = projectPath.replace(/\/+$/, '');
  for (const [sName, s] of Object.entries(lock.stages)) {
    for (const [name, out] of Object.entries(s.outs)) {
      if (out.path.replace(/\/+$/, '') === wanted || out.object === wanted) return { kind: 'artifact', artifacts: [artifact(sName, name, out)] };
      const inside = out.files?.find((f) => f.path === wanted || `${out.path.replace(/\/+$/, '')}/${f.path}` === wanted);
      if (inside) return { kind: 'artifact', artifacts: [artifact(sName, name, out, { path: wanted, hash: inside.hash, size: inside.size })] };
    }
  }
  const declaredBy: string[] = [];
  let rawFile: { hash: string; size: number } | undefined;
  for (const [sName, s] of Object.entries(lock.stages)) {
    const dep = s.deps.find((d) => d.path === wanted);
    if (dep) {
      declaredBy.push(sName);
      rawFile = { hash: dep.hash, size: dep.size };
    }
  }
  if (rawFile) return { kind: 'raw', path: wanted, hash: rawFile.hash, size: rawFile.size, declared_by: declaredBy.sort() };

  const known = Object.entries(lock.stages).flatMap(([s, st]) => Object.keys(st.outs).map((o) => `${s}.${o}`));
  throw new SpillwayError('usage', `"${target}" is not an output, stage or file recorded in the lockfile`, {
    expected: 'a stage output (stage.output), a stage name, or the path of an output or raw input file',
    hint: known.length ? `recorded outputs: ${known.sort().join(', ')}` : 'the lockfile records no outputs yet: run `spillway run` first',
  });
}

// ---------- text rendering ----------

/** `brief` leaves out the list of code files under each code hash. */
export function formatLineage(l: Lineage, options: { brief?: boolean } = {}): string {
  const lines: string[] = [];
  if (l.resolved.kind === 'raw') {
    lines.push(`${l.resolved.path}  ${short(l.resolved.hash)}  ${bytes(l.resolved.size)}`);
    lines.push(`  raw input (not made by a stage), declared as a dep by: ${l.resolved.declared_by.join(', ')}`);
    return lines.join('\n');
  }
  for (const a of l.resolved.artifacts) {
    const where = a.file ? `${a.file.path} in ${a.path}` : a.path;
    const hash = a.file ? a.file.hash : a.hash;
    lines.push(`${a.ref}  ${short(hash)}  ${a.kind}  ${where}`);
  }
  l.made_by.forEach((stage, i) => renderStage(stage, '', i === l.made_by.length - 1, lines, 'made by', options.brief ?? false));
  lines.push('');
  lines.push(`${l.stages.length} stage(s), ${l.raw_files.length} raw file(s)`);
  return lines.join('\n');
}

function renderStage(node: LineageStage, prefix: string, last: boolean, lines: string[], label: string, brief: boolean): void {
  const branch = last ? '└─ ' : '├─ ';
  const child = prefix + (last ? '   ' : '│  ');
  if (node.shown_above) {
    lines.push(`${prefix}${branch}${label} stage ${node.stage} (shown above)`);
    return;
  }
  if (!node.code) {
    lines.push(`${prefix}${branch}${label} stage ${node.stage} (no record in the lockfile)`);
    return;
  }
  lines.push(`${prefix}${branch}${label} stage ${node.stage}  ran ${node.started}  ${duration(node.duration_ms ?? 0)}`);
  const items: ((p: string, last: boolean) => void)[] = [];
  const what = node.code.module ?? node.code.cmd?.join(' ') ?? '';
  items.push((p, isLast) => {
    const count = node.code!.files.length;
    lines.push(`${p}${isLast ? '└─ ' : '├─ '}code ${short(node.code!.hash)}  ${what}${brief ? `  (${count} file${count === 1 ? '' : 's'})` : ''}`);
    if (brief) return;
    const cp = p + (isLast ? '   ' : '│  ');
    node.code!.files.forEach((f, i) => lines.push(`${cp}${i === node.code!.files.length - 1 ? '└─ ' : '├─ '}${f.path}  ${short(f.hash)}`));
  });
  for (const [key, value] of Object.entries(node.params ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    items.push((p, isLast) => lines.push(`${p}${isLast ? '└─ ' : '├─ '}param ${key} = ${compact(value)}`));
  }
  for (const dep of node.deps ?? []) {
    items.push((p, isLast) => lines.push(`${p}${isLast ? '└─ ' : '├─ '}raw ${dep.path}  ${short(dep.hash)}  ${bytes(dep.size)}`));
  }
  for (const input of node.inputs ?? []) {
    items.push((p, isLast) => {
      lines.push(`${p}${isLast ? '└─ ' : '├─ '}input ${input.name} ← ${input.from}  ${short(input.hash)}`);
      renderStage(input.made_by, p + (isLast ? '   ' : '│  '), true, lines, 'made by', brief);
    });
  }
  items.forEach((render, i) => render(child, i === items.length - 1));
}

function short(hash: string): string {
  const colon = hash.indexOf(':');
  return colon < 0 ? hash.slice(0, 12) : `${hash.slice(0, colon)}:${hash.slice(colon + 1, colon + 13)}`;
}

function compact(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------- the reverse question: what depends on this? ----------

export interface DownstreamStage {
  stage: string;
  /** why it is downstream: a dep it declared (raw file) or an input it reads (stage.output) */
  via: { kind: 'dep' | 'input'; what: string }[];
  outputs: { ref: string; kind: LockedOutput['kind']; path: string; hash: string }[];
}

export interface Downstream {
  target: string;
  resolved: { kind: 'raw'; path: string } | { kind: 'artifact'; refs: string[] };
  /** every stage that depends on the target, directly or through other stages, in dependency order */
  stages: DownstreamStage[];
  /** every output of those stages */
  outputs: { ref: string; kind: LockedOutput['kind']; path: string; hash: string }[];
}

/**
 * Which stages and outputs depend on TARGET, as the lockfile records them: a raw file (or a directory of them) that
 * stages read as deps, or an artifact (stage.output, a stage, an output path) that stages read as inputs; then
 * everything downstream of those stages.
 */
export function downstream(lock: Lockfile, target: string, projectPath?: string): Downstream {
  const wanted = (projectPath ?? target).replace(/\/+$/, '');
  const direct = new Map<string, DownstreamStage['via']>();
  const addVia = (stage: string, via: DownstreamStage['via'][number]) => direct.set(stage, [...(direct.get(stage) ?? []), via]);
  let resolved: Downstream['resolved'];
  let seedRefs: string[] | undefined;
  try {
    const r = resolveTarget(lock, target, projectPath ?? target);
    if (r.kind === 'artifact') seedRefs = r.artifacts.map((a) => a.ref);
  } catch {
    /* not an output: maybe a raw file or directory */
  }
  if (seedRefs) {
    resolved = { kind: 'artifact', refs: seedRefs };
  } else {
    // a raw file, a directory dep, or a directory holding deps
    for (const [name, s] of Object.entries(lock.stages)) {
      for (const dep of s.deps) {
        const depPath = dep.path.replace(/\/+$/, '');
        const isDirDep = dep.path.endsWith('/');
        if (depPath === wanted || (isDirDep && wanted.startsWith(`${depPath}/`)) || dep.path.startsWith(`${wanted}/`)) addVia(name, { kind: 'dep', what: dep.path });
      }
    }
    if (direct.size === 0) {
      throw new SpillwayError('usage', `nothing in the lockfile depends on "${target}"`, {
        expected: 'a raw file or directory some stage declares as a dep, or a stage output (stage.output), a stage, or an output path',
        hint: 'the lockfile records what the last run read: run `spillway run` first if the pipeline changed',
      });
    }
    resolved = { kind: 'raw', path: wanted };
  }
  // walk the input edges forward
  const readers = (ref: string) => Object.entries(lock.stages).filter(([, s]) => Object.values(s.inputs).some((i) => i.from === ref)).map(([n]) => n);
  for (const ref of seedRefs ?? []) for (const reader of readers(ref)) addVia(reader, { kind: 'input', what: ref });
  const visited = new Set<string>();
  const pending = [...direct.keys()];
  while (pending.length > 0) {
    const stage = pending.shift() as string;
    if (visited.has(stage)) continue;
    visited.add(stage);
    for (const out of Object.keys(lock.stages[stage]?.outs ?? {})) {
      const ref = `${stage}.${out}`;
      for (const reader of readers(ref)) {
        addVia(reader, { kind: 'input', what: ref });
        pending.push(reader);
      }
    }
  }
  // dependency order: a stage after every stage it reads from
  const order: string[] = [];
  const placed = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name) || !visited.has(name)) return;
    placed.add(name);
    for (const input of Object.values(lock.stages[name].inputs)) place(splitRef(input.from)[0]);
    order.push(name);
  };
  [...visited].sort().forEach(place);
  const stages = order.map((name) => ({
    stage: name,
    via: (direct.get(name) ?? []).filter((v, i, all) => all.findIndex((w) => w.kind === v.kind && w.what === v.what) === i),
    outputs: Object.entries(lock.stages[name].outs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([out, o]) => ({ ref: `${name}.${out}`, kind: o.kind, path: o.path, hash: o.hash })),
  }));
  return { target, resolved, stages, outputs: stages.flatMap((s) => s.outputs) };
}

export function formatDownstream(d: Downstream): string {
  const lines = [d.resolved.kind === 'raw' ? `${d.resolved.path}  (raw input)` : `${d.resolved.refs.join(', ')}  (artifact)`];
  if (d.stages.length === 0) lines.push('  nothing depends on it');
  for (const s of d.stages) {
    lines.push(`  ${s.stage}  ← ${s.via.map((v) => (v.kind === 'dep' ? `dep ${v.what}` : `input ${v.what}`)).join(', ')}`);
    for (const o of s.outputs) lines.push(`    → ${o.ref}  ${o.kind}  ${o.path}  ${short(o.hash)}`);
  }
  lines.push('', `${d.stages.length} stage(s) and ${d.outputs.length} output(s) depend on ${d.target}`);
  return lines.join('\n');
}
