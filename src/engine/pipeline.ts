// pipeline.yaml → a validated Pipeline. Syntax and schema errors point at file:line:column; references, duplicate
// outputs and cycles are checked after the schema. The parsed result is cached with the file's text so that a no-op
// run loads neither the YAML parser nor ajv.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { SpillwayError } from '../errors.js';
import { expandStages, finishExpansion, resolveTargets, type InstanceInfo, type MetricDecl } from './expand.js';
import { writeFileAtomic } from './fs-atomic.js';
import { hashBytes, seal, unseal } from './hash.js';
import { getDotted, setDotted } from './stage-context.js';

/** Bumped whenever the meaning of a cache key changes; it enters every key and the pipeline cache. */
export const ENGINE_FORMAT = 'spillway-engine/2';

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
  /** deps as written (files or globs), project-relative */
  deps: string[];
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
  const text = bytes.toString('utf8');
  const root = dirname(abs);
  const cacheFile = join(root, '.spillway', 'pipeline-cache.json');
  let base: Omit<Pipeline, 'file' | 'root' | 'lockFile' | 'overrides'> | undefined;
  if (!options.noCache) {
    try {
      // The cache holds the file's text: comparing it is cheaper than hashing it (and needs no crypto on a no-op).
      // It is sealed with a checksum, so an edited or damaged cache is parsed afresh instead of believed.
      const sealed = unseal(readFileSync(cacheFile, 'utf8'));
      const cached = sealed === undefined ? undefined : (JSON.parse(sealed) as { format: string; file: string; source: string; pipeline: Pipeline });
      if (cached?.format === ENGINE_FORMAT && cached.file === abs && cached.source === text) base = cached.pipeline;
    } catch {
      /* no cache */
    }
  }
  if (base === undefined) {
    base = await parsePipeline(text, abs, hashBytes(bytes));
    if (!options.noCache) {
      try {
        writeFileAtomic(cacheFile, seal(JSON.stringify({ format: ENGINE_FORMAT, file: abs, source: text, pipeline: base })), { sync: false });
      } catch {
        /* a read-only project still runs */
      }
    }
  }
  const pipeline: Pipeline = { ...base, file: abs, root, lockFile: lockFileFor(abs), overrides: {} };
  if (options.overrides && options.overrides.length > 0) await applyOverrides(pipeline, options.overrides);
  return pipeline;
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
    setDotted(params, key, value);
    pipeline.overrides[key] = value;
  }
  pipeline.params = params;
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

  const data = doc.toJS() as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    fail([], 'pipeline file must be a mapping with `stages:` (and usually `params:`)', { expected: 'a YAML mapping' });
  }
  await validateAgainstSchema(data, fail);
  const expansion = expandStages(data, fail); // matrix/foreach → instances (src/engine/expand.ts)
  return finishExpansion(checkSemantics(expansion.raw as RawPipeline, file, hash, fail), expansion);
}

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
        fail([...path, name], `invalid name "${name}" in ${where}`, { key: true, expected: 'a name of letters, digits, _ or - (not starting with a digit)' });
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
  if (pattern.includes('\\.[A-Za-z_]') && pattern.endsWith('*$') && !pattern.includes('(')) return '"stage.output", e.g. ingest.panel';
  if (pattern.includes('(\\.')) return 'a dotted param key such as classify.criterion';
  return `a string matching ${pattern}`;
}

interface RawStage {
  description?: string;
  run?: string;
  cmd?: string[];
  deps?: string[];
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

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

const RESERVED = ['artifacts', '.spillway', '.git', 'node_modules'];

function checkSemantics(raw: RawPipeline, file: string, hash: string, fail: Fail): Omit<Pipeline, 'file' | 'root' | 'lockFile' | 'overrides'> {
  const root = dirname(file);
  const params = raw.params ?? {};
  const stages: Record<string, StageDecl> = {};
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
    stages[name] = {
      name,
      ...(s.description !== undefined ? { description: s.description } : {}),
      ...(s.run !== undefined ? { run: toPosix(normalize(s.run)) } : {}),
      ...(s.cmd !== undefined ? { cmd: s.cmd } : {}),
      deps: (s.deps ?? []).map((d) => toPosix(d)),
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
      const target = stages[from];
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
    (s.deps ?? []).forEach((dep, i) => {
      const rel = toPosix(relative(root, resolve(root, dep)));
      const owner = outPaths.get(rel);
      if (owner) {
        fail(['stages', name, 'deps', i], `stage "${name}" lists ${dep} as a dep, but it is output "${owner.out}" of stage "${owner.stage}"`, {
          expected: 'deps are source files; outputs of other stages are inputs',
          hint: `use inputs: { ${owner.out}: ${owner.stage}.${owner.out} } instead`,
        });
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

/** Kahn's algorithm, ties broken by declaration order; on a cycle, reports the stages on it. */
function topologicalOrder(stages: Record<string, StageDecl>, onCycle: (cycle: string[]) => never): string[] {
  const names = Object.keys(stages);
  const remaining = new Map(names.map((n) => [n, stages[n].upstream.length]));
  const order: string[] = [];
  while (order.length < names.length) {
    const next = names.find((n) => remaining.get(n) === 0);
    if (next === undefined) break;
    remaining.set(next, -1);
    order.push(next);
    for (const n of names) if (stages[n].upstream.includes(next)) remaining.set(n, (remaining.get(n) ?? 0) - 1);
  }
  if (order.length < names.length) {
    // Walk upstream edges from a stuck stage until a stage repeats: that loop is a cycle.
    const stuck = new Set(names.filter((n) => !order.includes(n)));
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
    if (!pipeline.stages[t]) {
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
