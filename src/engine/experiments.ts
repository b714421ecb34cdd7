// Experiments: every variant a sweep ran, kept as a record under artifacts/experiments/<id>.json next to its own
// lockfile (<id>.lock). A record holds the variant's param values (those differing from pipeline.yaml listed in
// `changed`), status, timings, the metrics its stages declare, and the hashes of every object its lockfile names (so
// that a garbage collector keeps them). Records are written atomically; reading never needs the YAML parser.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SpillwayError } from '../errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import { canonicalJson, hashBytes, hashJson, StatCache } from './hash.js';
import { readLockfile, writeLockfile } from './lockfile.js';
import type { Lockfile } from './lockfile-format.js';
import type { Pipeline } from './pipeline.js';
import { acquireProjectLock } from './project-lock.js';
import { getDotted } from './stage-context.js';
import { hasDir, hasObject, materializeDir, materializeFile, objectPath } from './store.js';

export const EXPERIMENTS_DIR = 'artifacts/experiments';

export type ExperimentStatus = 'running' | 'ok' | 'failed' | 'interrupted';

export interface ExperimentStageSummary {
  status: string;
  key: string;
  duration_ms: number;
  error?: string;
}

export interface ExperimentRecord {
  spillway_experiment: 1;
  /** "x" + 10 hex digits of the hash of the variant's overrides: the same overrides are the same experiment */
  id: string;
  /** the sweep that last ran it */
  sweep: string;
  /** dotted key → value of every param the variant sets (swept or explicit) */
  params: Record<string, unknown>;
  /** the keys of `params` whose value differs from pipeline.yaml */
  changed: string[];
  status: ExperimentStatus;
  started: string;
  ended?: string;
  duration_ms?: number;
  /** the pipeline file and its hash when the variant ran */
  pipeline: { path: string; hash: string };
  /** the stages the variant asked for (empty: every stage) */
  targets: string[];
  stages: Record<string, ExperimentStageSummary>;
  /** stages this variant executed (the rest were restored by key) */
  executions: number;
  /** "stage.metric" → value (null when the pointer finds nothing or a non-scalar) */
  metrics: Record<string, number | string | boolean | null>;
  /** project-relative path of the variant's lockfile */
  lockfile: string;
  /** every object hash the lockfile names (outputs, and the files of directory outputs), sorted */
  objects: string[];
  failure?: { stage: string; kind?: string; message: string }[];
}

export function experimentsDir(root: string): string {
  return join(root, EXPERIMENTS_DIR);
}

export function experimentId(overrides: Record<string, unknown>): string {
  const h = hashJson(Object.fromEntries(Object.entries(overrides).sort(([a], [b]) => (a < b ? -1 : 1))));
  return `x${h.slice(h.indexOf(':') + 1, h.indexOf(':') + 11)}`;
}

export function recordPath(root: string, id: string): string {
  return join(experimentsDir(root), `${id}.json`);
}

export function lockPath(root: string, id: string): string {
  return join(experimentsDir(root), `${id}.lock`);
}

export function writeRecord(root: string, record: ExperimentRecord): void {
  writeFileAtomic(recordPath(root, record.id), `${JSON.stringify(record, null, 2)}\n`);
}

export function readRecord(root: string, id: string): ExperimentRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(root, id), 'utf8')) as ExperimentRecord;
  } catch {
    return undefined;
  }
}

/** Every record, oldest first (by start time, then id). */
export function listRecords(root: string): ExperimentRecord[] {
  let names: string[];
  try {
    names = readdirSync(experimentsDir(root)).filter((n) => /^x[0-9a-f]{10}\.json$/.test(n));
  } catch {
    return [];
  }
  const records = names.map((n) => readRecord(root, n.slice(0, -5))).filter((r): r is ExperimentRecord => r !== undefined);
  return records.sort((a, b) => (a.started < b.started ? -1 : a.started > b.started ? 1 : a.id < b.id ? -1 : 1));
}

/** An experiment by id or unique id prefix (with or without the leading x). */
export function findRecord(root: string, ref: string): ExperimentRecord {
  const all = listRecords(root);
  const want = ref.startsWith('x') ? ref : `x${ref}`;
  const hits = all.filter((r) => r.id === want || r.id.startsWith(want));
  if (hits.length === 1) return hits[0];
  throw new SpillwayError('usage', hits.length === 0 ? `no experiment "${ref}"` : `experiment "${ref}" is ambiguous (${hits.map((h) => h.id).join(', ')})`, {
    expected: all.length > 0 ? `an id from \`spillway exp show\` (e.g. ${all[0].id})` : 'an experiment id; run `spillway sweep` first',
  });
}

/** Object hashes a lockfile names: every output, and every file of a directory output. */
export function objectsOf(lock: Lockfile): string[] {
  const set = new Set<string>();
  for (const stage of Object.values(lock.stages)) {
    for (const out of Object.values(stage.outs)) {
      set.add(out.hash);
      for (const f of out.files ?? []) set.add(f.hash);
    }
  }
  return [...set].sort();
}

/** Follows an RFC 6901 pointer. */
export function resolvePointer(value: unknown, pointer: string): { found: boolean; value: unknown } {
  if (pointer === '') return { found: true, value };
  let node = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(token) && Number(token) < node.length) node = node[Number(token)];
    else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, token)) node = (node as Record<string, unknown>)[token];
    else return { found: false, value: undefined };
  }
  return { found: true, value: node };
}

/** The metrics the pipeline's stages declare, read from the outputs a lockfile records ("stage.metric" → value). */
export function readMetrics(root: string, pipeline: Pipeline, lock: Lockfile): Record<string, number | string | boolean | null> {
  const metrics: Record<string, number | string | boolean | null> = {};
  const cache = new Map<string, unknown>();
  for (const name of pipeline.order) {
    const stage = pipeline.stages[name];
    const entry = lock.stages[name];
    if (!stage.metrics) continue;
    for (const [metric, decl] of Object.entries(stage.metrics)) {
      const out = entry?.outs[decl.output];
      let value: number | string | boolean | null = null;
      if (out) {
        let doc = cache.get(out.hash);
        if (doc === undefined) {
          try {
            doc = JSON.parse(readFileSync(objectPath(root, out.hash), 'utf8'));
          } catch {
            doc = null;
          }
          cache.set(out.hash, doc);
        }
        const found = resolvePointer(doc, decl.pointer);
        if (found.found && (typeof found.value === 'number' || typeof found.value === 'string' || typeof found.value === 'boolean')) value = found.value;
      }
      metrics[`${name}.${metric}`] = value;
    }
  }
  return metrics;
}

/** The keys whose value differs from the pipeline file's defaults. */
export function changedKeys(defaults: Record<string, unknown>, params: Record<string, unknown>): string[] {
  return Object.keys(params)
    .filter((k) => canonicalJson(getDotted(defaults, k).value) !== canonicalJson(params[k]))
    .sort();
}

export interface ExperimentDiff {
  a: string;
  b: string;
  params: { key: string; a: unknown; b: unknown }[];
  metrics: { name: string; a: unknown; b: unknown; change: number | null }[];
  status?: { a: string; b: string };
}

/** Params and metrics that differ between two experiments (a param missing from one is its pipeline default there). */
export function diffExperiments(a: ExperimentRecord, b: ExperimentRecord, defaults: Record<string, unknown>): ExperimentDiff {
  const value = (r: ExperimentRecord, k: string) => (Object.hasOwn(r.params, k) ? r.params[k] : getDotted(defaults, k).value);
  const keys = [...new Set([...Object.keys(a.params), ...Object.keys(b.params)])].sort();
  const params = keys.filter((k) => canonicalJson(value(a, k)) !== canonicalJson(value(b, k))).map((k) => ({ key: k, a: value(a, k), b: value(b, k) }));
  const names = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])];
  const metrics = names
    .filter((n) => canonicalJson(a.metrics[n] ?? null) !== canonicalJson(b.metrics[n] ?? null))
    .map((n) => {
      const x = a.metrics[n] ?? null;
      const y = b.metrics[n] ?? null;
      return { name: n, a: x, b: y, change: typeof x === 'number' && typeof y === 'number' ? y - x : null };
    });
  return { a: a.id, b: b.id, params, metrics, ...(a.status !== b.status ? { status: { a: a.status, b: b.status } } : {}) };
}

/**
 * Materializes one experiment in the project: its lockfile becomes pipeline.lock and every output it records is
 * written at its readable path from the store. Under the project lock. pipeline.yaml is left as it is (status then
 * names the params the experiment changed) unless `writeParams`: then the experiment's changed values are written
 * into it (comments kept), and the project is up to date.
 */
export async function applyExperiment(pipeline: Pipeline, id: string, options: { wait?: boolean; writeParams?: boolean } = {}): Promise<{ record: ExperimentRecord; restored: string[] }> {
  const root = pipeline.root;
  const record = findRecord(root, id);
  if (record.status !== 'ok') {
    throw new SpillwayError('usage', `experiment ${record.id} did not finish (status ${record.status}); only a finished experiment can be applied`, {
      hint: 'run the sweep again to finish it',
    });
  }
  const lock = readLockfile(root, resolve(root, record.lockfile));
  if (lock === undefined) throw new SpillwayError('invalidInput', `experiment ${record.id}: its lockfile ${record.lockfile} is missing`, { file: record.lockfile });
  const missing = Object.entries(lock.stages).flatMap(([stage, e]) =>
    Object.entries(e.outs).filter(([, o]) => (o.kind === 'dir' ? !hasDir(root, o.hash) : !hasObject(root, o.hash))).map(([n]) => `${stage}.${n}`),
  );
  if (missing.length > 0) {
    throw new SpillwayError('invalidInput', `experiment ${record.id}: outputs missing from the store: ${missing.join(', ')}`, { hint: 'run the sweep again to rebuild them' });
  }
  const release = await acquireProjectLock(root, { command: 'exp apply', wait: options.wait });
  const cache = new StatCache(root);
  const restored: string[] = [];
  try {
    for (const entry of Object.values(lock.stages)) {
      for (const out of Object.values(entry.outs)) {
        const target = resolve(root, out.path);
        if (out.kind === 'dir') materializeDir(root, out.hash, target, cache);
        else materializeFile(root, out.hash, target, cache);
        restored.push(out.path);
      }
    }
    if (options.writeParams && record.changed.length > 0) {
      // the experiment's values into pipeline.yaml, comments and layout kept
      // Only the changed values' text is replaced (as JSON, which YAML reads back exactly): layout, flow style and
      // comments elsewhere stay byte for byte.
      const { parseDocument } = await import('yaml');
      let text = readFileSync(pipeline.file, 'utf8');
      const doc = parseDocument(text);
      const edits: [number, number, string][] = [];
      for (const key of record.changed) {
        const node = doc.getIn(['params', ...key.split('.')], true) as { range?: [number, number, number] } | undefined;
        if (!node?.range) throw new SpillwayError('invalidPipeline', `cannot write ${key} into ${pipeline.file}: it is not under params:`, { file: pipeline.file });
        edits.push([node.range[0], node.range[1], JSON.stringify(record.params[key])]);
      }
      for (const [start, end, value] of edits.sort((a, b) => b[0] - a[0])) text = text.slice(0, start) + value + text.slice(end);
      writeFileAtomic(pipeline.file, text);
      lock.pipeline = { ...lock.pipeline, hash: hashBytes(text) };
    }
    writeLockfile(root, lock, pipeline.lockFile);
    cache.save();
  } finally {
    release();
  }
  return { record, restored };
}

/** Removes an experiment's record and lockfile (objects stay in the store). */
export function removeExperiment(root: string, id: string): void {
  for (const p of [recordPath(root, id), lockPath(root, id)]) if (existsSync(p)) rmSync(p, { force: true });
}
