// A sweep's summary file: one JSON document in the project (e.g. results/robustness.json) that a downstream stage can
// declare as a dep, so a pipeline can report on a whole sweep without reading the store. Written atomically at the end
// of every sweep, also a partial or failed one (each variant's status says what happened to it). Format:
// schemas/sweep-summary.schema.json, described in docs/variants.md.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { SpillwayError } from '../errors.js';
import type { ExperimentRecord } from './experiments.js';
import { writeFileAtomic } from './fs-atomic.js';
import { hashJson } from './hash.js';
import type { Lockfile } from './lockfile-format.js';
import { getDotted } from './stage-context.js';
import { objectPath } from './store.js';

export interface SummaryOutput {
  /** the output's hash as the variant's lockfile records it (bytes) */
  hash: string;
  /** JSON outputs: hash of the value's canonical JSON (keys sorted at every level, no whitespace), whatever its formatting */
  content?: string;
}

export interface SummaryVariant {
  id: string;
  params: Record<string, unknown>;
  changed: string[];
  /** ok | failed | interrupted, or not_run when the sweep stopped before starting it */
  status: 'ok' | 'failed' | 'interrupted' | 'not_run';
  failure?: { stage: string; kind?: string; message: string }[];
  metrics: Record<string, number | string | boolean | null>;
  /** each target stage (instances of a target included) that the variant's lockfile records */
  stages: Record<string, { key: string; outputs: Record<string, SummaryOutput> }>;
}

export interface SweepSummary {
  spillway_sweep_summary: 1;
  sweep: string;
  description?: string;
  /** the sweep file and the SHA-256 of its bytes (null: a sweep given on the command line) */
  sweep_file: { path: string; sha256: string } | null;
  pipeline: { path: string; hash: string };
  targets: string[];
  grid: Record<string, unknown[]>;
  /** pipeline.yaml's value of every key the sweep varies or sets */
  base: Record<string, unknown>;
  /** every variant finished ok */
  complete: boolean;
  counts: { variants: number; ok: number; failed: number; interrupted: number; not_run: number };
  variants: SummaryVariant[];
}

export interface SummaryInput {
  root: string;
  spec: { name: string; description?: string; grid: Record<string, unknown[]>; targets: string[]; file?: { path: string; sha256: string } };
  pipeline: { path: string; hash: string; params: Record<string, unknown> };
  /** target stages, as the pipeline names them (instances expanded) */
  targetStages: string[];
  variants: { id: string; overrides: Record<string, unknown> }[];
  /** records by variant index (undefined: not started) */
  records: (ExperimentRecord | undefined)[];
  /** the lockfile of a variant, when it has one */
  lockOf: (id: string) => Lockfile | undefined;
}

/** Builds the summary of a sweep from its experiment records and their lockfiles. */
export function buildSweepSummary(input: SummaryInput): SweepSummary {
  const keys = [...new Set(input.variants.flatMap((v) => Object.keys(v.overrides)))];
  const base: Record<string, unknown> = {};
  for (const key of keys) {
    const found = getDotted(input.pipeline.params, key);
    base[key] = found.found ? found.value : null;
  }
  const contents = new Map<string, string | undefined>();
  const contentOf = (hash: string): string | undefined => {
    if (!contents.has(hash)) {
      try {
        contents.set(hash, hashJson(JSON.parse(readFileSync(objectPath(input.root, hash), 'utf8'))));
      } catch {
        contents.set(hash, undefined);
      }
    }
    return contents.get(hash);
  };
  const variants: SummaryVariant[] = input.variants.map((v, i) => {
    const record = input.records[i];
    const status: SummaryVariant['status'] = record === undefined || record.status === 'running' ? (record ? 'interrupted' : 'not_run') : record.status;
    const stages: SummaryVariant['stages'] = {};
    const lock = record ? input.lockOf(v.id) : undefined;
    if (lock) {
      for (const name of input.targetStages) {
        const entry = lock.stages[name];
        if (!entry) continue;
        const outputs: Record<string, SummaryOutput> = {};
        for (const [out, o] of Object.entries(entry.outs)) {
          const content = o.kind === 'json' ? contentOf(o.hash) : undefined;
          outputs[out] = { hash: o.hash, ...(content ? { content } : {}) };
        }
        stages[name] = { key: entry.key, outputs };
      }
    }
    return {
      id: v.id,
      params: v.overrides,
      changed: record?.changed ?? [],
      status,
      ...(record?.failure ? { failure: record.failure } : {}),
      metrics: record?.metrics ?? {},
      stages,
    };
  });
  const count = (s: SummaryVariant['status']) => variants.filter((v) => v.status === s).length;
  return {
    spillway_sweep_summary: 1,
    sweep: input.spec.name,
    ...(input.spec.description !== undefined ? { description: input.spec.description } : {}),
    sweep_file: input.spec.file ?? null,
    pipeline: { path: input.pipeline.path, hash: input.pipeline.hash },
    targets: input.spec.targets,
    grid: input.spec.grid,
    base,
    complete: variants.every((v) => v.status === 'ok'),
    counts: { variants: variants.length, ok: count('ok'), failed: count('failed'), interrupted: count('interrupted'), not_run: count('not_run') },
    variants,
  };
}

/** The absolute path of a summary file given relative to the project; it must stay inside the project. */
export function summaryPath(root: string, path: string): string {
  const abs = resolve(root, path);
  const rel = relative(root, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new SpillwayError('usage', `sweep summary ${path} is outside the project`, { expected: 'a path inside the project, e.g. results/robustness.json' });
  }
  // nor through a symlinked directory: the real path of its deepest existing directory must be in the project's
  let real: string | undefined;
  let realRoot: string | undefined;
  try {
    realRoot = realpathSync(root);
    for (let current = dirname(abs); real === undefined; current = dirname(current)) {
      try {
        real = realpathSync(current);
      } catch {
        if (dirname(current) === current) break;
      }
    }
  } catch {
    /* no project directory: nothing to compare */
  }
  if (real !== undefined && realRoot !== undefined) {
    const within = relative(realRoot, real);
    if (within === '..' || within.startsWith(`..${sep}`) || isAbsolute(within)) {
      throw new SpillwayError('usage', `sweep summary ${path} is outside the project: its directory resolves (through a symlink) to ${real}`, {
        expected: 'a path inside the project, e.g. results/robustness.json',
        hint: 'write the summary to a directory of the project that is not a link to another place',
      });
    }
  }
  try {
    if (statSync(abs).isDirectory()) {
      throw new SpillwayError('usage', `sweep summary ${path} is a directory`, { expected: 'the path of a JSON file, e.g. results/robustness.json' });
    }
  } catch (e) {
    if (e instanceof SpillwayError) throw e;
    /* not there yet: written at the end */
  }
  return abs;
}

export function writeSweepSummary(path: string, summary: SweepSummary): void {
  writeFileAtomic(path, `${JSON.stringify(summary, null, 2)}\n`);
}
