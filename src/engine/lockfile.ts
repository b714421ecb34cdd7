// pipeline.lock: read, checked against schemas/lockfile.schema.json, and (atomically) written here; the format is
// lockfile-format.ts. Every reader (run, status, audit, lineage, export, watch) goes through parseLockfile, so a
// damaged lockfile gives the same error and the same exit code (3, like an invalid pipeline.yaml) everywhere.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SpillwayError } from '../errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import type { Lockfile } from './lockfile-format.js';

export const DEFAULT_LOCKFILE = 'pipeline.lock';

/** Reads `<projectRoot>/pipeline.lock` (or an explicit lock path); undefined when there is none yet. */
export function readLockfile(projectRoot: string, lockPath: string = join(projectRoot, DEFAULT_LOCKFILE)): Lockfile | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  return parseLockfile(text, relative(process.cwd(), lockPath) || lockPath);
}

/** Writes the lockfile atomically (temp, fsync, rename, fsync dir), keys in a stable order. */
export function writeLockfile(projectRoot: string, lock: Lockfile, lockPath: string = join(projectRoot, DEFAULT_LOCKFILE)): void {
  writeLockfileText(lockPath, lockfileText(lock));
}

/** The bytes of a lockfile as spillway writes it (stable key order, external deps marked). */
export function lockfileText(lock: Lockfile): string {
  return `${JSON.stringify(markExternal(lock), null, 2)}\n`;
}

/** Writes lockfile text made by lockfileText, atomically and durably (temp, fsync, rename, fsync dir). */
export function writeLockfileText(lockPath: string, text: string): void {
  writeFileAtomic(lockPath, text, { durable: true });
}

/** A dep path outside the project (allowed by `external_deps: true`) is recorded with `"external": true`. */
function isExternal(path: string): boolean {
  return path.startsWith('../') || path === '..' || path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path);
}

function markExternal(lock: Lockfile): Lockfile {
  if (!Object.values(lock.stages).some((s) => s.deps.some((d) => isExternal(d.path) && d.external !== true))) return lock;
  const stages = Object.create(null) as Lockfile['stages'];
  for (const [name, stage] of Object.entries(lock.stages)) {
    stages[name] = { ...stage, deps: stage.deps.map((d) => (isExternal(d.path) ? { ...d, external: true } : d)) };
  }
  return { ...lock, stages };
}

const RESERVED_NAME = /^(?:__proto__|constructor|prototype)$/;
// a stage, or an instance of an expanded stage: `estimate@sample=leading` (src/engine/expand.ts)
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*(@[A-Za-z0-9_=,+~-]+)?$/;
const HASH = /^[a-z0-9-]+:[0-9a-f]+$/;

class Invalid extends Error {
  constructor(
    readonly pointer: string,
    readonly expected: string,
  ) {
    super(`${pointer || '/'}: expected ${expected}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function object(v: unknown, at: string, required: string[] = []): Record<string, unknown> {
  if (!isObject(v)) throw new Invalid(at, 'an object');
  for (const key of required) if (!Object.hasOwn(v, key)) throw new Invalid(`${at}/${escape(key)}`, `a key "${key}" (required)`);
  return v;
}
function string(v: unknown, at: string): void {
  if (typeof v !== 'string') throw new Invalid(at, 'a string');
}
function hash(v: unknown, at: string): void {
  if (typeof v !== 'string' || !HASH.test(v)) throw new Invalid(at, 'a content hash "algorithm:hex"');
}
function size(v: unknown, at: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Invalid(at, 'a size in bytes (a number ≥ 0)');
}
function optional(o: Record<string, unknown>, key: string, at: string, check: (v: unknown, at: string) => void): void {
  if (Object.hasOwn(o, key)) check(o[key], `${at}/${key}`);
}
function array(v: unknown, at: string, item: (v: unknown, at: string) => void): void {
  if (!Array.isArray(v)) throw new Invalid(at, 'an array');
  v.forEach((x, i) => item(x, `${at}/${i}`));
}
function file(v: unknown, at: string): void {
  const f = object(v, at, ['path', 'hash', 'size']);
  string(f.path, `${at}/path`);
  hash(f.hash, `${at}/hash`);
  size(f.size, `${at}/size`);
  optional(f, 'external', at, (x, p) => {
    if (typeof x !== 'boolean') throw new Invalid(p, 'true or false');
  });
}
function entries(v: unknown, at: string, each: (value: unknown, at: string) => void): void {
  for (const [k, x] of Object.entries(object(v, at))) each(x, `${at}/${escape(k)}`);
}

/** The hand-written twin of schemas/lockfile.schema.json (kept in step by test/faults/engine-load.test.ts). */
export function checkLockfile(data: unknown): void {
  const lock = object(data, '', ['spillway_lock', 'pipeline', 'stages']);
  if (lock.spillway_lock !== 1) throw new Invalid('/spillway_lock', 'the format number 1');
  const pipeline = object(lock.pipeline, '/pipeline', ['path', 'hash']);
  string(pipeline.path, '/pipeline/path');
  hash(pipeline.hash, '/pipeline/hash');
  for (const [name, value] of Object.entries(object(lock.stages, '/stages'))) {
    const at = `/stages/${escape(name)}`;
    if (!NAME.test(name) || RESERVED_NAME.test(name)) throw new Invalid(at, 'a stage name of letters, digits, _ or - (not __proto__, constructor or prototype), with an instance suffix @axis=value,… for expanded stages');
    const stage = object(value, at, ['key', 'code', 'params', 'deps', 'inputs', 'outs', 'run']);
    hash(stage.key, `${at}/key`);
    const code = object(stage.code, `${at}/code`, ['hash', 'files']);
    hash(code.hash, `${at}/code/hash`);
    optional(code, 'module', `${at}/code`, string);
    optional(code, 'cmd', `${at}/code`, (x, p) => array(x, p, string));
    array(code.files, `${at}/code/files`, file);
    optional(code, 'packages', `${at}/code`, (x, p) => entries(x, p, string));
    object(stage.params, `${at}/params`);
    array(stage.deps, `${at}/deps`, file);
    entries(stage.inputs, `${at}/inputs`, (x, p) => {
      const input = object(x, p, ['from', 'hash']);
      string(input.from, `${p}/from`);
      hash(input.hash, `${p}/hash`);
    });
    entries(stage.outs, `${at}/outs`, (x, p) => {
      const out = object(x, p, ['kind', 'hash', 'size', 'path', 'object']);
      if (out.kind !== 'json' && out.kind !== 'file' && out.kind !== 'dir') throw new Invalid(`${p}/kind`, '"json", "file" or "dir"');
      hash(out.hash, `${p}/hash`);
      size(out.size, `${p}/size`);
      string(out.path, `${p}/path`);
      string(out.object, `${p}/object`);
      optional(out, 'schema', p, (s, sp) => {
        const schema = object(s, sp, ['path', 'hash']);
        string(schema.path, `${sp}/path`);
        hash(schema.hash, `${sp}/hash`);
        optional(schema, 'refs', sp, (r, rp) =>
          array(r, rp, (x, xp) => {
            const ref = object(x, xp, ['path', 'hash']);
            string(ref.path, `${xp}/path`);
            hash(ref.hash, `${xp}/hash`);
          }),
        );
      });
      optional(out, 'files', p, (f, fp) => array(f, fp, file));
    });
    const run = object(stage.run, `${at}/run`, ['started', 'ended', 'duration_ms', 'engine_version', 'node_version', 'platform']);
    for (const key of ['started', 'ended', 'engine_version', 'node_version', 'platform']) string(run[key], `${at}/run/${key}`);
    if (typeof run.duration_ms !== 'number') throw new Invalid(`${at}/run/duration_ms`, 'a number');
    for (const key of ['executor', 'host', 'job_id']) optional(run, key, `${at}/run`, string);
  }
}

/** Maps keyed by names from users (stages, outputs, inputs) get no prototype: `toString` is not a stage. */
function withoutPrototypes(lock: Lockfile): Lockfile {
  const stages = Object.create(null) as Lockfile['stages'];
  for (const [name, stage] of Object.entries(lock.stages)) {
    stages[name] = { ...stage, inputs: Object.assign(Object.create(null), stage.inputs), outs: Object.assign(Object.create(null), stage.outs) };
  }
  return { ...lock, stages };
}

/** Parses and checks a lockfile's text; a damaged one is an invalidPipeline error (exit 3) naming the JSON pointer. */
export function parseLockfile(text: string, displayFile: string): Lockfile {
  const fail = (message: string, extra: { pointer?: string; expected?: string } = {}) =>
    new SpillwayError('invalidPipeline', `the lockfile is damaged: ${message}`, {
      file: displayFile,
      ...extra,
      hint: 'restore it from version control (git checkout -- pipeline.lock), or delete it to re-run every stage',
    });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw fail(`not valid JSON (${(error as Error).message})`, { expected: 'a pipeline.lock written by spillway' });
  }
  try {
    checkLockfile(data);
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    throw fail("it does not have spillway's lockfile format (schemas/lockfile.schema.json)", { pointer: error.pointer, expected: error.expected });
  }
  return withoutPrototypes(data as Lockfile);
}
