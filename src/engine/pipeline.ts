// pipeline.yaml → a validated Pipeline. Syntax and schema errors point at file:line:column; references, duplicate
// outputs and cycles are checked after the schema. The parsed result is cached with the file's text so that a no-op
// run loads neither the YAML parser nor ajv.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { SpillwayError } from '../errors.js';
import { expandStages, finishExpansion, resolveTargets, type InstanceInfo, type MetricDecl } from './expand.js';
import { writeFileAtomic } from './fs-atomic.js';
import { engineBuild, engineBuilds } from './build.js';
import { hashBytes, seal, unsealBytes } from './hash.js';
import { getDotted, setDotted } from './stage-context.js';

/** Bumped whenever the meaning of a cache key changes; it enters every key and the pipeline cache. */
export const ENGINE_FORMAT = 'spillway-engine/2';

export { engineBuild };

export interface OutDecl {
  name: string;
  kind: 'json' | 'file' | 'dir';
  /** schema file (json outs), project-relative */
  schema?: string;
  /** declared project path (file/dir outs), normalized, forward slashes */
  path?: string;
}

export interface InputDecl {
  /** local name the stage sees */
  name: string;
  stage: string;
  output: string;
  /** "stage.output" as written */
  ref: string;
}

export interface StageDecl {
  name: string;
  description?: string;
  /** module path, project-relative */
  run?: string;
  cmd?: string[];
  /** deps as written (files or globs), project-relative (or outside the project when `external_deps` is set) */
  deps: string[];
  /** set when the stage opted in to deps outside the project (`external_deps: true`) */
  externalDeps?: boolean;
  /** `optional_deps:` (also listed in `deps`): literal paths that may be absent; absent, they are left out, unwarned */
  optionalDeps?: string[];
  inputs: InputDecl[];
  /** dotted param keys */
  params: string[];
  outs: OutDecl[];
  /** stages whose outputs this stage reads */
  upstream: string[];
  /** wall-clock limit of one run, in milliseconds */
  timeoutMs?: number;
  /** what one run needs (cluster executors map it to their scheduler) */
  resources?: import('./executor.js').StageResources;
  /** set on an instance of a stage with matrix/foreach, and the named metrics a stage declares (src/engine/expand.ts) */
  instance?: InstanceInfo;
  metrics?: Record<string, MetricDecl>;
}

export interface Pipeline {
  /** absolute path of pipeline.yaml */
  file: string;
  /** project root: the directory of the pipeline file */
  root: string;
  /** hash of the pipeline file's bytes */
  hash: string;
  /** the lockfile that goes with this pipeline file (pipeline.yaml → pipeline.lock) */
  lockFile: string;
  /** params with overrides applied (nested) */
  params: Record<string, unknown>;
  /** the --set overrides applied, dotted key → value */
  overrides: Record<string, unknown>;
  stages: Record<string, StageDecl>;
  /** stage names in a topological order (declaration order where free) */
  order: string[];
  /** expanded stages: the name as written → its instances in expansion order */
  groups?: Record<string, string[]>;
}

export interface LoadOptions {
  /** "key=value" strings; values are parsed as YAML scalars (so 0.3 is a number, true a boolean) */
  overrides?: string[];
  /** skip the parsed-pipeline cache (tests) */
  noCache?: boolean;
}

export function lockFileFor(pipelineFile: string): string {
  const base = pipelineFile.replace(/\.ya?ml$/i, '');
  return `${base === pipelineFile ? pipelineFile : base}.lock`;
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/** How many pipeline files this process parsed (the others were read back from the parse cache). */
export const pipelineLoads = { parsed: 0 };

export async function loadPipeline(file: string, options: LoadOptions = {}): Promise<Pipeline> {
  const abs = resolve(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(abs);
  } catch {
    throw new SpillwayError('invalidPipeline', `pipeline file not found: ${file}`, {
      file,
      hint: 'run spillway in the directory that holds pipeline.yaml, or pass -f PATH',
    });
  }
  const displayFile = relative(process.cwd(), abs) || abs;
  const text = decodeUtf8(bytes, displayFile);
  const root = dirname(abs);
  const cacheFile = join(root, '.spillway', 'pipeline-cache.json');
  let base: Omit<Pipeline, 'file' | 'root' | 'lockFile' | 'overrides'> | undefined;
  if (!options.noCache) {
    try {
      // The cache holds the file's text: comparing it is cheaper than hashing it (and needs no crypto on a no-op).
      // It is sealed with a checksum, so an edited or damaged cache is parsed afresh instead of believed; the output
      // schemas were checked when it was written: any schema file changed since means check again.
      const sealed = unsealBytes(readFileSync(cacheFile));
      // The parser is part of the key too: a pipeline parsed by an engine built differently (an upgrade, or a developer's
      // rebuild that adds a key) is parsed again rather than read back without what the new parser would have found.
      const cached = sealed === undefined ? undefined : (JSON.parse(sealed) as { format: string; engine?: string | string[]; file: string; source: string; pipeline: Pipeline; schemas?: SchemaStamp[] });
      if (cached?.format === ENGINE_FORMAT && [cached.engine].flat().includes(engineBuild()) && cached.file === abs && cached.source === text && sameStamps(root, cached.schemas)) base = cached.pipeline;
    } catch {
      /* no cache */
    }
  }
  if (base === undefined) {
    pipelineLoads.parsed += 1;
    base = await parsePipeline(text, abs, hashBytes(bytes));
    if (!options.noCache) {
      try {
        writeFileAtomic(cacheFile, seal(JSON.stringify({ format: ENGINE_FORMAT, engine: engineBuilds(), file: abs, source: text, pipeline: base, schemas: schemaStamps(root, base.stages) })), { sync: false });
      } catch {
        /* a read-only project still runs */
      }
    }
  }
  // Stage names come from users: a table without a prototype has no `toString` or `constructor` stage.
  const stages = Object.assign(Object.create(null) as Record<string, StageDecl>, base.stages);
  const pipeline: Pipeline = { ...base, stages, file: abs, root, lockFile: lockFileFor(abs), overrides: {} };
  // What a symlink created since the last parse can change: checked on every load (a few realpath calls).
  checkFences(pipeline, (path, message, extra = {}) => {
    throw new SpillwayError('invalidPipeline', message, { file: displayFile, expected: extra.expected, hint: extra.hint, context: { path: describePath(path) } });
  });
  if (options.overrides && options.overrides.length > 0) await applyOverrides(pipeline, options.overrides);
  return pipeline;
}

/** Strict UTF-8: a byte sequence that is not UTF-8 is an error naming its byte offset, not a silent U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, displayFile: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const line = 1 + bytes.subarray(0, offset).reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
    throw new SpillwayError('invalidPipeline', `not valid UTF-8: byte 0x${bytes[offset].toString(16).padStart(2, '0')} at byte offset ${offset}`, {
      file: displayFile,
      line,
      expected: 'a UTF-8 text file',
      hint: 'save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)',
      context: { byte_offset: offset },
    });
  }
}

function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const need = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    if (i + need >= b.length && need > 0) return i;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      let lo = 0x80;
      let hi = 0xbf;
      if (k === 1 && c === 0xe0) lo = 0xa0;
      if (k === 1 && c === 0xed) hi = 0x9f;
      if (k === 1 && c === 0xf0) lo = 0x90;
      if (k === 1 && c === 0xf4) hi = 0x8f;
      if (x < lo || x > hi) return i;
    }
    i += need + 1;
  }
  return b.length - 1;
}

type SchemaStamp = [path: string, mtimeMs: number, size: number, ctimeMs?: number];

function schemaStamps(root: string, stages: Record<string, StageDecl>): SchemaStamp[] {
  const stamps: SchemaStamp[] = [];
  for (const stage of Object.values(stages)) {
    for (const out of stage.outs) {
      if (!out.schema) continue;
      try {
        const st = statSync(resolve(root, out.schema));
        stamps.push([out.schema, st.mtimeMs, st.size, st.ctimeMs]);
      } catch {
        stamps.push([out.schema, -1, -1]);
      }
    }
  }
  return stamps;
}

function sameStamps(root: string, stamps: SchemaStamp[] | undefined): boolean {
  if (stamps === undefined) return false;
  return stamps.every(([path, mtimeMs, size, ctimeMs]) => {
    try {
      const st = statSync(resolve(root, path));
      return st.mtimeMs === mtimeMs && st.size === size && st.ctimeMs === ctimeMs;
    } catch {
      return false;
    }
  });
}

async function applyOverrides(pipeline: Pipeline, overrides: string[]): Promise<void> {
  const { parse } = await import('yaml');
  const params = structuredClone(pipeline.params);
  for (const text of overrides) {
    const eq = text.indexOf('=');
    if (eq <= 0) {
      throw new SpillwayError('usage', `--set expects key=value, got "${text}"`, { expected: 'a dotted param key, "=", a value', hint: 'e.g. --set classify.top_share=0.3' });
    }
    const key = text.slice(0, eq).trim();
    const raw = text.slice(eq + 1);
    const current = getDotted(params, key);
    if (!current.found) {
      throw new SpillwayError('usage', `--set ${key}: no such param in ${relative(process.cwd(), pipeline.file) || pipeline.file}`, {
        expected: `one of: ${listParamKeys(pipeline.params).join(', ')}`,
        hint: 'add a default under `params:` first; --set only overrides existing params',
      });
    }
    let value: unknown;
    try {
      value = parse(raw);
    } catch {
      value = raw;
    }
    if (value === undefined) value = null;
    const bad = unrepresentable(value);
    if (bad) {
      throw new SpillwayError('usage', `--set ${key}: ${bad}`, {
        expected: 'a YAML value that JSON can hold: a number, string, boolean, null, list or mapping (no aliases that refer to themselves)',
        hint: bad.includes('NaN') || bad.includes('Infinity') ? 'JSON has no NaN or Infinity: use null, or a large finite number such as 1e308' : 'write the value out without a self-referring alias',
      });
    }
    setDotted(params, key, value);
    pipeline.overrides[key] = value;
  }
  pipeline.params = params;
}

/** Why a value parsed from YAML cannot be a param (JSON holds neither cycles nor NaN/Infinity), or undefined. */
export function unrepresentable(value: unknown, seen: Set<unknown> = new Set()): string | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value} is not a JSON number (NaN and ±Infinity cannot be recorded in the lockfile)`;
  if (value === null || typeof value !== 'object') return undefined;
  if (seen.has(value)) return 'the value refers to itself (a YAML alias inside its own anchor)';
  seen.add(value);
  for (const v of Object.values(value)) {
    const bad = unrepresentable(v, seen);
    if (bad) return bad;
  }
  seen.delete(value);
  return undefined;
}

export function listParamKeys(params: Record<string, unknown>, prefix = ''): string[] {
  const keys: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) keys.push(...listParamKeys(v as Record<string, unknown>, key));
    else keys.push(key);
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing and validation (loaded only when pipeline.yaml changed)

type Segment = string | number;

interface Locator {
  /** line/column of the value at `path`, or of its key when `key` is set; falls back to the nearest existing parent */
  at(path: Segment[], key?: boolean): { line: number; column: number };
}

function describePath(path: Segment[]): string {
  let text = '';
  for (const s of path) text += typeof s === 'number' ? `[${s}]` : text ? `.${s}` : s;
  return text || '(top level)';
}

async function parsePipeline(text: string, file: string, hash: string): Promise<Omit<Pipeline, 'file' | 'root' | 'lockFile' | 'overrides'>> {
  const { parseDocument, LineCounter, isMap, isSeq, isScalar } = await import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const displayFile = relative(process.cwd(), file) || file;
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw new SpillwayError('invalidPipeline', `YAML syntax error: ${e.message.split('\n')[0]}`, {
      file: displayFile,
      line: pos.line,
      column: pos.col,
      hint: 'fix the YAML syntax (indentation, quoting, colons)',
    });
  }
  const locator: Locator = {
    at(path, key = false) {
      let node: unknown = doc.contents;
      let offset = 0;
      for (let i = 0; i < path.length; i++) {
        const seg = path[i];
        const last = i === path.length - 1;
        if (isMap(node)) {
          const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
          if (!pair) break;
          const keyNode = pair.key as { range?: [number, number, number] } | null;
          const valueNode = pair.value as { range?: [number, number, number] } | null;
          if (last && key && keyNode?.range) {
            offset = keyNode.range[0];
            node = undefined;
            break;
          }
          node = pair.value;
          offset = valueNode?.range?.[0] ?? keyNode?.range?.[0] ?? offset;
        } else if (isSeq(node)) {
          const item = node.items[Number(seg)] as { range?: [number, number, number] } | undefined;
          if (!item) break;
          node = item;
          offset = item.range?.[0] ?? offset;
        } else break;
      }
      if (path.length === 0) offset = (doc.contents as { range?: [number] } | null)?.range?.[0] ?? 0;
      const pos = lineCounter.linePos(offset);
      return { line: pos.line, column: pos.col };
    },
  };
  const fail = (path: Segment[], message: string, extra: { expected?: string; hint?: string; key?: boolean } = {}): never => {
    const pos = locator.at(path, extra.key);
    throw new SpillwayError('invalidPipeline', message, {
      file: displayFile,
      line: pos.line,
      column: pos.column,
      expected: extra.expected,
      hint: extra.hint,
      context: { path: describePath(path) },
    });
  };

  let data: unknown;
  try {
    // yaml refuses to expand more aliases than this (a "billion laughs" file would exhaust memory)
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    fail([], `YAML aliases expand too much: ${(error as Error).message}`, {
      expected: `at most ${MAX_ALIAS_COUNT} alias expansions`,
      hint: 'write the repeated values out, or use fewer nested aliases (*name)',
    });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    fail([], 'pipeline file must be a mapping with `stages:` (and usually `params:`)', { expected: 'a YAML mapping' });
  }
  await validateAgainstSchema(data, fail);
  const expansion = expandStages(data, fail); // matrix/foreach → instances (src/engine/expand.ts)
  const picomatch = (await import('picomatch')).default as unknown as (glob: string) => (path: string) => boolean;
  const result = finishExpansion(checkSemantics(expansion.raw as RawPipeline, file, hash, fail, (glob) => picomatch(glob)), expansion);
  await checkOutputSchemas(result.stages, dirname(file), fail);
  return result;
}

const MAX_ALIAS_COUNT = 100;

type Fail = (path: Segment[], message: string, extra?: { expected?: string; hint?: string; key?: boolean }) => never;

async function validateAgainstSchema(data: unknown, fail: Fail): Promise<void> {
  const { default: Ajv } = await import('ajv');
  const schema = JSON.parse(readFileSync(new URL('../../schemas/pipeline.schema.json', import.meta.url), 'utf8')) as object;
  const ajv = new Ajv.default({ allErrors: true, strict: false, verbose: true });
  const validate = ajv.compile(schema);
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  // Prefer the most specific error: the deepest path, and not the generic allOf/anyOf wrappers.
  const ranked = [...errors].sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length);
  const error = ranked.find((e) => !['allOf', 'anyOf', 'oneOf', 'if'].includes(e.keyword)) ?? ranked[0];
  const path: Segment[] = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const where = describePath(path);
  const params = error.params as Record<string, unknown>;
  const allowed = () => {
    const parent = (error as { parentSchema?: { properties?: Record<string, unknown> } }).parentSchema;
    return Object.keys(parent?.properties ?? {}).join(', ');
  };
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      const keys = allowed();
      fail([...path, extra], `unknown key "${extra}" in ${where}`, { key: true, expected: `one of: ${keys}`, hint: 'check the spelling; see docs/pipeline-format.md' });
      break;
    }
    case 'required':
      fail(path, `${where} is missing the required key "${String(params.missingProperty)}"`, { expected: `a key "${String(params.missingProperty)}"` });
      break;
    case 'propertyNames':
    case 'pattern': {
      if (error.keyword === 'propertyNames' || error.propertyName !== undefined) {
        const name = String(params.propertyName ?? error.propertyName ?? '');
        fail([...path, name], `invalid name "${name}" in ${where}`, { key: true, expected: 'a name of letters, digits, _ or - (not starting with a digit; __proto__, constructor and prototype are reserved)' });
      }
      fail(path, `${where} has an invalid value`, { expected: describePattern(String(params.pattern)) });
      break;
    }
    case 'type':
      fail(path, `${where} must be ${article(String(params.type))}`, { expected: article(String(params.type)) });
      break;
    case 'minProperties':
    case 'maxProperties':
      if (path[path.length - 2] === 'outs') {
        fail(path, `output ${where} must have exactly one of schema, file or dir`, { expected: '{ schema: schemas/x.schema.json } or { file: path } or { dir: path }' });
      }
      if (where === 'stages') fail(path, 'stages must declare at least one stage', { expected: 'stages: { name: { run: stages/x.ts, … } }' });
      fail(path, `${where} ${error.message ?? 'has the wrong number of keys'}`, { expected: error.keyword === 'minProperties' ? `at least ${String(params.limit)} entries` : `at most ${String(params.limit)} entries` });
      break;
    case 'minItems':
      fail(path, `${where} must not be empty`, { expected: `at least ${String(params.limit)} item(s)` });
      break;
    case 'uniqueItems':
      fail([...path, Number(params.j)], `${where} lists the same entry twice`, { expected: 'each entry once' });
      break;
    case 'minLength':
      fail(path, `${where} must not be empty`, { expected: 'a non-empty string' });
      break;
    default:
      fail(path, `${where} ${error.message ?? 'is invalid'}`, { expected: JSON.stringify(params) });
  }
}

function article(type: string): string {
  const t = type.split(',')[0];
  return `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`;
}

function describePattern(pattern: string): string {
  if (pattern.includes('(ts|mts|js|mjs)')) return 'a .ts, .mts, .js or .mjs module path';
  if (pattern.endsWith(')*$')) return 'a dotted param key such as classify.criterion (__proto__, constructor and prototype are reserved)';
  if (pattern.includes('\\.(?!')) return '"stage.output", e.g. ingest.panel (__proto__, constructor and prototype are reserved)';
  return `a string matching ${pattern}`;
}

interface RawStage {
  description?: string;
  run?: string;
  cmd?: string[];
  deps?: string[];
  optional_deps?: string[];
  external_deps?: boolean;
  inputs?: Record<string, string>;
  params?: string[];
  outs?: Record<string, { schema?: string; file?: string; dir?: string }>;
  timeout?: number | string;
  resources?: import('./executor.js').StageResources;
}
interface RawPipeline {
  params?: Record<string, unknown>;
  stages: Record<string, RawStage>;
}

/** A stage's deps and optional deps, each with the list and index it was written at (for error pointers). */
function depEntries(s: RawStage): [string, 'deps' | 'optional_deps', number][] {
  return [...(s.deps ?? []).map((dep, i) => [dep, 'deps', i] as [string, 'deps', number]), ...(s.optional_deps ?? []).map((dep, i) => [dep, 'optional_deps', i] as [string, 'optional_deps', number])];
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** `path` is `dir` or inside it (both project-relative, forward slashes, normalized). */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

const RESERVED = ['artifacts', '.spillway', '.git', 'node_modules'];
/** Keys that are not plain names in JavaScript objects: refused as stage, output, input and param names. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const GLOB_SYNTAX = /[*?[\]{}]/; // what the engine treats as a glob (GLOB_CHARS in code.ts)

/** The directory part of a dep pattern before its first glob segment (the dep itself when it has no glob). */
function staticBase(dep: string): string {
  const segments = dep.split('/');
  const i = segments.findIndex((seg) => GLOB_SYNTAX.test(seg));
  return i < 0 ? dep : segments.slice(0, i).join('/');
}

type Matcher = (glob: string) => (path: string) => boolean;

/**
 * Whether dep `dep` (a file, directory or glob) can name something inside `dir` (project-relative): its fixed part is
 * inside `dir`, or its glob part can reach into `dir` (`data/**\/*.csv` reaches into `data/processed`; `data/*.csv`
 * does not: globs match files, and its last segment is at the level of `data/`).
 */
function reachesInto(root: string, dep: string, dir: string, matcher: Matcher): boolean {
  const normalized = toPosix(relative(root, resolve(root, dep)));
  const base = toPosix(relative(root, resolve(root, staticBase(dep))));
  if (base !== '' && within(base, dir)) return true; // the dep, or everything its glob can match, is inside dir
  if (!GLOB_SYNTAX.test(dep) || !(base === '' || within(dir, base))) return false;
  const rest = (base === '' ? normalized : normalized.slice(base.length + 1)).split('/');
  const below = (base === '' ? dir : dir.slice(base.length + 1)).split('/');
  for (let i = 0; i < below.length; i++) {
    if (rest[i] === '**') return true;
    if (i >= rest.length - 1 || !matcher(rest[i])(below[i])) return false;
  }
  return true;
}

/** Params a run can record: no reserved keys (they would change objects' prototypes), no NaN/Infinity (not JSON). */
function checkParams(value: unknown, path: Segment[], fail: Fail): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    fail(path, `param ${describePath(path.slice(1))} is ${value}, which JSON (and so the lockfile) cannot hold`, {
      expected: 'a finite number, or null',
      hint: 'use null for "missing", or a large finite number such as 1e308 for "unbounded"',
    });
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkParams(v, [...path, i], fail));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (RESERVED_NAMES.has(k) || k.includes('.')) {
      fail([...path, k], `invalid param name "${k}" in ${describePath(path)}`, { key: true, expected: 'a name without dots, and not __proto__, constructor or prototype' });
    }
    checkParams(v, [...path, k], fail);
  }
}

function checkSemantics(raw: RawPipeline, file: string, hash: string, fail: Fail, matcher: Matcher): Omit<Pipeline, 'file' | 'root' | 'lockFile' | 'overrides'> {
  const root = dirname(file);
  const params = raw.params ?? {};
  checkParams(params, ['params'], fail);
  const stages = Object.create(null) as Record<string, StageDecl>;
  const outPaths = new Map<string, { stage: string; out: string }>();
  const lockName = toPosix(relative(root, lockFileFor(file)));
  const pipelineName = toPosix(relative(root, file));

  for (const [name, s] of Object.entries(raw.stages)) {
    const at = ['stages', name];
    if ((s.run === undefined) === (s.cmd === undefined)) {
      fail(at, `stage "${name}" needs exactly one of \`run\` (a module) or \`cmd\` (an argv list)`, {
        key: true,
        expected: s.run === undefined ? 'run: stages/x.ts, or cmd: [program, arg, …]' : 'only one of run and cmd',
      });
    }
    if (s.run !== undefined && (isAbsolute(s.run) || !isInside(root, resolve(root, s.run)))) {
      fail([...at, 'run'], `stage "${name}": module ${s.run} is outside the project`, {
        expected: 'a module path inside the project directory (no leading / and no ../ out of it)',
        hint: 'copy or move the module into the project: its code must be versioned (and hashed) with the pipeline',
      });
    }
    if (s.run !== undefined && !existsSync(resolve(root, s.run))) {
      fail([...at, 'run'], `stage "${name}": module ${s.run} does not exist`, { expected: 'a path relative to the pipeline file' });
    }
    const outs: OutDecl[] = [];
    for (const [outName, o] of Object.entries(s.outs ?? {})) {
      const outAt = [...at, 'outs', outName];
      if (o.schema !== undefined) {
        if (!existsSync(resolve(root, o.schema))) {
          fail([...outAt, 'schema'], `stage "${name}", output "${outName}": schema ${o.schema} does not exist`, { expected: 'a JSON Schema file, e.g. schemas/panel.schema.json' });
        }
        outs.push({ name: outName, kind: 'json', schema: toPosix(normalize(o.schema)) });
        continue;
      }
      const kind = o.file !== undefined ? 'file' : 'dir';
      const declared = (o.file ?? o.dir) as string;
      const absPath = resolve(root, declared);
      const kindAt = [...outAt, kind];
      if (isAbsolute(declared) || !isInside(root, absPath)) {
        fail(kindAt, `stage "${name}", output "${outName}": path ${declared} leaves the project`, {
          expected: 'a path inside the project directory (no leading / and no ../ out of it)',
          hint: 'outputs are written only inside the project, so a run cannot overwrite files elsewhere',
        });
      }
      const rel = toPosix(relative(root, absPath));
      const top = rel.split('/')[0];
      if (RESERVED.includes(top) || rel === lockName || rel === pipelineName) {
        fail(kindAt, `stage "${name}", output "${outName}": ${rel} is reserved for spillway (or git)`, { expected: `a path outside ${RESERVED.join(', ')}, not the pipeline or lock file` });
      }
      for (const [other, owner] of outPaths) {
        if (other === rel || rel.startsWith(`${other}/`) || other.startsWith(`${rel}/`)) {
          fail(kindAt, `duplicate output: ${rel} (stage "${name}", output "${outName}") overlaps ${other}, already an output of stage "${owner.stage}" ("${owner.out}")`, {
            expected: 'every output path written by exactly one stage',
          });
        }
      }
      outPaths.set(rel, { stage: name, out: outName });
      outs.push({ name: outName, kind, path: rel });
    }
    const deps: string[] = [];
    const optionalDeps: string[] = [];
    const depsOf = depEntries(s);
    depsOf.forEach(([dep, list, i]) => {
      const at = ['stages', name, list];
      const outside = isAbsolute(dep) || !isInside(root, resolve(root, dep));
      if (outside && s.external_deps !== true) {
        fail([...at, i], `stage "${name}": dep ${dep} is outside the project`, {
          expected: 'a path inside the project directory (no leading / and no ../ out of it)',
          hint: `copy the file into the project (best: it is then versioned with the pipeline), or set \`external_deps: true\` on stage ${name} to allow deps outside it; they are recorded as external in the lockfile`,
        });
      }
      const path = toPosix(outside && isAbsolute(dep) ? normalize(dep) : dep);
      if (list === 'optional_deps') optionalDeps.push(path);
      if (!deps.includes(path)) deps.push(path);
    });
    stages[name] = {
      name,
      ...(s.description !== undefined ? { description: s.description } : {}),
      ...(s.run !== undefined ? { run: toPosix(normalize(s.run)) } : {}),
      ...(s.cmd !== undefined ? { cmd: s.cmd } : {}),
      deps,
      ...(s.external_deps === true ? { externalDeps: true } : {}),
      ...(optionalDeps.length > 0 ? { optionalDeps } : {}),
      inputs: [],
      params: s.params ?? [],
      outs,
      upstream: [],
      ...(s.timeout !== undefined ? { timeoutMs: durationMs(s.timeout) } : {}),
      ...(s.resources !== undefined ? { resources: s.resources } : {}),
    };
  }

  for (const [name, s] of Object.entries(raw.stages)) {
    const stage = stages[name];
    (s.params ?? []).forEach((key, i) => {
      if (!getDotted(params, key).found) {
        const keys = listParamKeys(params);
        const near = keys.filter((k) => k.split('.')[0] === key.split('.')[0]);
        fail(['stages', name, 'params', i], `stage "${name}" declares param "${key}", which is not defined under \`params:\``, {
          expected: `one of: ${(near.length ? near : keys).join(', ') || '(no params defined)'}`,
          hint: `add a default for ${key} under params:, or fix the spelling`,
        });
      }
    });
    for (const [local, ref] of Object.entries(s.inputs ?? {})) {
      const [from, output] = ref.split('.');
      const target = Object.hasOwn(stages, from) ? stages[from] : undefined;
      if (target === undefined) {
        fail(['stages', name, 'inputs', local], `stage "${name}", input "${local}": unknown stage "${from}" in "${ref}"`, {
          expected: `one of the stages: ${Object.keys(stages).join(', ')}`,
        });
      }
      if (!target.outs.some((o) => o.name === output)) {
        fail(['stages', name, 'inputs', local], `stage "${name}", input "${local}": stage "${from}" has no output "${output}"`, {
          expected: `one of ${from}'s outputs: ${target.outs.map((o) => o.name).join(', ') || '(none)'}`,
        });
      }
      stage.inputs.push({ name: local, stage: from, output, ref });
      if (!stage.upstream.includes(from)) stage.upstream.push(from);
    }
    depEntries(s).forEach(([dep, list, i]) => {
      const rel = toPosix(relative(root, resolve(root, dep)));
      const owner = outPaths.get(rel);
      if (owner) {
        fail(['stages', name, list, i], `stage "${name}" lists ${dep} as a dep, but it is output "${owner.out}" of stage "${owner.stage}"`, {
          expected: 'deps are source files; outputs of other stages are inputs',
          hint: `use inputs: { ${owner.out}: ${owner.stage}.${owner.out} } instead`,
        });
      }
      // A dir output is replaced as a whole when its stage runs: a dep inside it would be deleted.
      for (const out of Object.values(stages).flatMap((st) => st.outs.filter((o) => o.kind === 'dir').map((o) => ({ stage: st.name, out: o })))) {
        if (reachesInto(root, dep, out.out.path as string, matcher)) {
          fail(['stages', name, list, i], `stage "${name}": dep ${dep} is inside ${out.out.path}, the dir output "${out.out.name}" of stage "${out.stage}", which a run replaces as a whole (deleting the dep)`, {
            expected: 'deps outside every dir output',
            hint: `move the file out of ${out.out.path}, or declare another path for the output`,
          });
        }
      }
    });
  }

  const order = topologicalOrder(stages, (cycle) =>
    fail(['stages', cycle[0]], `cycle in the stage graph: ${[...cycle, cycle[0]].join(' → ')}`, {
      key: true,
      expected: 'a DAG: no stage may (indirectly) read its own output',
      hint: 'remove one of the inputs on the cycle',
    }),
  );
  return { hash, params, stages, order };
}

/** "1h30m", "90s", "10m" or a number of seconds → milliseconds (the schema has checked the form). */
export function durationMs(value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  const unit = { h: 3_600_000, m: 60_000, s: 1000 } as const;
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)([hms])/g)) total += Number(m[1]) * unit[m[2] as keyof typeof unit];
  return Math.round(total);
}

/**
 * Fences that depend on the filesystem (checked on every load, also from the cache): a file or dir output whose
 * parent directory is, through a symlink, outside the project would be written outside it; a module reached
 * through a symlink outside the project is code the project does not hold.
 */
function checkFences(pipeline: Pipeline, fail: Fail): void {
  // the system's realpath: one call per path, where node's JavaScript one takes an lstat per path component (on every
  // load, the no-op included)
  const realpath = realpathSync.native;
  let realRoot: string;
  try {
    realRoot = realpath(pipeline.root);
  } catch {
    return;
  }
  /** real path of the deepest existing ancestor of `abs` (or of `abs` itself with `self`) */
  const known = new Map<string, string | undefined>(); // every stage of a big pipeline may run the same module
  const realAncestor = (abs: string, self: boolean): string | undefined => {
    const memo = `${self ? 1 : 0}${abs}`;
    if (!known.has(memo)) known.set(memo, realAncestorOf(abs, self));
    return known.get(memo);
  };
  const realAncestorOf = (abs: string, self: boolean): string | undefined => {
    let current = self ? abs : dirname(abs);
    for (;;) {
      try {
        return realpath(current);
      } catch {
        const up = dirname(current);
        if (up === current) return undefined;
        current = up;
      }
    }
  };
  const inside = (real: string | undefined) => real === undefined || real === realRoot || isInside(realRoot, real);
  for (const stage of Object.values(pipeline.stages)) {
    if (stage.run !== undefined && !inside(realAncestor(resolve(pipeline.root, stage.run), true))) {
      fail(['stages', stage.name, 'run'], `stage "${stage.name}": module ${stage.run} resolves (through a symlink) to ${realAncestor(resolve(pipeline.root, stage.run), true)}, outside the project`, {
        expected: 'a module inside the project directory',
        hint: 'copy the module into the project instead of linking to it',
      });
    }
    for (const out of stage.outs) {
      if (out.path === undefined) continue;
      const real = realAncestor(resolve(pipeline.root, out.path), false);
      if (!inside(real)) {
        fail(['stages', stage.name, 'outs', out.name], `stage "${stage.name}", output "${out.name}": ${out.path} would be written outside the project: its directory resolves (through a symlink) to ${real}`, {
          expected: 'an output path whose directories are inside the project',
          hint: `replace the symlink with a real directory, or declare another path for ${out.name}`,
        });
      }
    }
  }
}

/** Output schemas are read at load time, so that a broken one fails before any stage runs, not after. */
async function checkOutputSchemas(stages: Record<string, StageDecl>, root: string, fail: Fail): Promise<void> {
  const classes: Record<string, unknown> = {};
  for (const stage of Object.values(stages)) {
    for (const out of stage.outs) {
      if (out.schema === undefined) continue;
      const at: Segment[] = ['stages', stage.name, 'outs', out.name, 'schema'];
      const abs = resolve(root, out.schema);
      let schema: unknown;
      try {
        schema = JSON.parse(decodeUtf8(readFileSync(abs), out.schema));
      } catch (error) {
        const why = error instanceof SpillwayError ? error.message : (error as Error).message;
        fail(at, `stage "${stage.name}", output "${out.name}": schema ${out.schema} is not valid JSON (${why})`, { expected: 'a JSON Schema file', hint: `fix ${out.schema}` });
      }
      if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
        fail(at, `stage "${stage.name}", output "${out.name}": schema ${out.schema} is not a JSON Schema (not an object)`, { expected: 'a JSON object such as {"type": "object", …}' });
      }
      const draft = String((schema as { $schema?: unknown }).$schema ?? '');
      const flavor = draft.includes('2020-12') ? '2020' : draft.includes('2019-09') ? '2019' : 'default';
      if (!classes[flavor]) {
        const mod = flavor === '2020' ? await import('ajv/dist/2020.js') : flavor === '2019' ? await import('ajv/dist/2019.js') : await import('ajv');
        classes[flavor] = new (mod.default as unknown as { default: new (o: object) => unknown }).default({ strict: false, validateFormats: false });
      }
      const ajv = classes[flavor] as { validateSchema(s: unknown): boolean | Promise<unknown>; errors?: { instancePath: string; message?: string }[] | null };
      let ok: boolean;
      try {
        ok = ajv.validateSchema(schema) === true;
      } catch {
        ok = true; // a meta-schema this ajv does not know: leave it to the validator at run time
      }
      if (!ok) {
        const e = ajv.errors?.[0];
        fail(at, `stage "${stage.name}", output "${out.name}": schema ${out.schema} is not a valid JSON Schema: ${e?.instancePath || '/'} ${e?.message ?? ''}`.trim(), {
          expected: 'a JSON Schema (draft-07, 2019-09 or 2020-12)',
          hint: `fix ${out.schema}`,
        });
      }
    }
  }
}

/** Kahn's algorithm, ties broken by declaration order; on a cycle, reports the stages on it. */
function topologicalOrder(stages: Record<string, StageDecl>, onCycle: (cycle: string[]) => never): string[] {
  // Kahn's algorithm in O(stages + edges): the ready stages wait in a min-heap of declaration indexes, so the order is
  // the declaration order wherever the graph leaves a choice.
  const names = Object.keys(stages);
  const index = new Map(names.map((n, i) => [n, i]));
  const downstream = new Map<string, string[]>(names.map((n) => [n, []]));
  const remaining = new Map<string, number>();
  for (const n of names) {
    remaining.set(n, stages[n].upstream.length);
    for (const u of stages[n].upstream) downstream.get(u)?.push(n);
  }
  const heap: number[] = [];
  const push = (v: number) => {
    heap.push(v);
    for (let k = heap.length - 1; k > 0; ) {
      const parent = (k - 1) >> 1;
      if (heap[parent] <= heap[k]) break;
      [heap[parent], heap[k]] = [heap[k], heap[parent]];
      k = parent;
    }
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop() as number;
    if (heap.length > 0) {
      heap[0] = last;
      for (let k = 0; ; ) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === k) break;
        [heap[m], heap[k]] = [heap[k], heap[m]];
        k = m;
      }
    }
    return top;
  };
  names.forEach((n, i) => remaining.get(n) === 0 && push(i));
  const order: string[] = [];
  while (heap.length > 0) {
    const next = names[pop()];
    order.push(next);
    for (const d of downstream.get(next) ?? []) {
      const left = (remaining.get(d) ?? 0) - 1;
      remaining.set(d, left);
      if (left === 0) push(index.get(d) as number);
    }
  }
  if (order.length < names.length) {
    // Walk upstream edges from a stuck stage until a stage repeats: that loop is a cycle.
    const placed = new Set(order);
    const stuck = new Set(names.filter((n) => !placed.has(n)));
    let current = names.find((n) => stuck.has(n)) as string;
    const path: string[] = [];
    while (!path.includes(current)) {
      path.push(current);
      current = stages[current].upstream.find((u) => stuck.has(u)) as string;
    }
    const cycle = path.slice(path.indexOf(current)).reverse();
    onCycle(cycle);
  }
  return order;
}

/** The stages needed to build `targets` (they and everything upstream), in topological order. */
export function selectStages(pipeline: Pipeline, targets?: string[]): string[] {
  if (!targets || targets.length === 0) return [...pipeline.order];
  const needed = new Set<string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const u of pipeline.stages[name].upstream) visit(u);
  };
  for (const t of resolveTargets(pipeline, targets)) {
    if (!Object.hasOwn(pipeline.stages, t)) {
      throw new SpillwayError('usage', `unknown stage "${t}"`, { expected: `one of: ${pipeline.order.join(', ')}` });
    }
    visit(t);
  }
  return pipeline.order.filter((n) => needed.has(n));
}

/** Stages downstream of `name` (not including it). */
export function downstreamOf(pipeline: Pipeline, name: string): string[] {
  const result = new Set<string>();
  const visit = (n: string) => {
    for (const s of pipeline.order) if (pipeline.stages[s].upstream.includes(n) && !result.has(s)) {
      result.add(s);
      visit(s);
    }
  };
  visit(name);
  return pipeline.order.filter((s) => result.has(s));
}
