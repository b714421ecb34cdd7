// The one StageContext implementation: the engine's child runner uses it, and so can tests and the synthetic-data
// generator that call a stage function in-process. Keeping one implementation keeps the semantics identical.
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SpillwayError } from '../errors.js';
import type { StageContext } from './stage-api.js';

export interface StageContextOptions {
  /** the stage's name */
  stage: string;
  /**
   * The declared params. Either nested (`{ weights: { distance_decay: 2 } }`, what ctx.params shows) or flat dotted
   * (`{ 'weights.distance_decay': 2 }`, what the lockfile records); both give the same context.
   */
  params?: Record<string, unknown>;
  /** parsed JSON inputs by local name */
  inputs?: Record<string, unknown>;
  /** file inputs (upstream plain-file/dir outputs) by local name: absolute or project-relative paths */
  inputPaths?: Record<string, string>;
  /** declared deps, globs already expanded: absolute or project-relative paths */
  deps?: readonly string[];
  /** project root; relative deps and input paths resolve against it (default: process.cwd()) */
  projectRoot?: string;
  /** directory where plain-file/dir outputs are written (ctx.outPath(name) = outDir/name); created on demand */
  outDir?: string;
  /** the declared plain-file/dir outs; when given, outPath refuses other names and creates `dir` outs */
  outs?: Record<string, 'file' | 'dir'>;
  /** where ctx.log goes (default: stderr, prefixed with the stage name) */
  log?: (message: string) => void;
}

/** Turns `{ 'a.b': 1 }` and `{ a: { b: 1 } }` alike into nested form, without mutating the argument. */
export function nestParams(params: Record<string, unknown>): Record<string, unknown> {
  const nested: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) setDotted(nested, key, value);
  return nested;
}

/** Reads a dotted key from a nested object; `found` is false when any segment is missing. */
export function getDotted(tree: unknown, dottedKey: string): { found: boolean; value: unknown } {
  let node: unknown = tree;
  for (const segment of dottedKey.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, segment)) {
      return { found: false, value: undefined };
    }
    node = (node as Record<string, unknown>)[segment];
  }
  return { found: true, value: node };
}

/** Defines an own property, also for keys such as `__proto__` that plain assignment would treat specially. */
function define(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Sets a dotted key in a nested object, creating intermediate objects; merges plain objects already present. */
export function setDotted(tree: Record<string, unknown>, dottedKey: string, value: unknown): void {
  const segments = dottedKey.split('.');
  let node = tree;
  for (const segment of segments.slice(0, -1)) {
    // own properties only: `a.__proto__.b` must never reach Object.prototype
    const next = Object.hasOwn(node, segment) ? node[segment] : undefined;
    if (next === null || typeof next !== 'object' || Array.isArray(next)) define(node, segment, {});
    node = node[segment] as Record<string, unknown>;
  }
  const last = segments[segments.length - 1];
  const existing = Object.hasOwn(node, last) ? node[last] : undefined;
  if (isPlainObject(existing) && isPlainObject(value)) {
    const merged = { ...existing };
    for (const [k, v] of Object.entries(value)) setDotted(merged, k, v);
    define(node, last, merged);
  } else {
    define(node, last, isPlainObject(value) ? nestParams(value) : value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}

export function createStageContext(options: StageContextOptions): StageContext {
  const { stage } = options;
  const projectRoot = resolve(options.projectRoot ?? process.cwd());
  const params = deepFreeze(nestParams(options.params ?? {}));
  const inputs = Object.freeze({ ...(options.inputs ?? {}) });
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(projectRoot, p));
  const deps = Object.freeze([...(options.deps ?? [])].map(absolute).sort());
  const depSet = new Set(deps);
  const inputPaths = Object.fromEntries(Object.entries(options.inputPaths ?? {}).map(([k, v]) => [k, absolute(v)]));
  const outDir = options.outDir === undefined ? undefined : absolute(options.outDir);
  const log = options.log ?? ((message: string) => process.stderr.write(`[${stage}] ${message}\n`));

  const context: StageContext = {
    stage,
    params,
    inputs,
    deps,
    param<T = unknown>(dottedKey: string): T {
      const { found, value } = getDotted(params, dottedKey);
      if (!found) {
        throw new SpillwayError('invalidPipeline', `stage "${stage}" read param "${dottedKey}", which it does not declare`, {
          expected: `one of the stage's declared params`,
          hint: `add "${dottedKey}" to stages.${stage}.params in pipeline.yaml`,
          context: { stage, param: dottedKey },
        });
      }
      return value as T;
    },
    dep(relativePath: string): string {
      const path = absolute(relativePath);
      if (!depSet.has(path)) {
        throw new SpillwayError('invalidPipeline', `stage "${stage}" read dep "${relativePath}", which it does not declare`, {
          expected: 'a file listed (or matched by a glob) in the stage\'s deps',
          hint: `add "${relativePath}" to stages.${stage}.deps in pipeline.yaml`,
          context: { stage, dep: relativePath },
        });
      }
      return path;
    },
    inputPath(name: string): string {
      const path = Object.hasOwn(inputPaths, name) ? inputPaths[name] : undefined; // `constructor` is not an input
      if (path === undefined) {
        throw new SpillwayError('invalidPipeline', `stage "${stage}" asked for file input "${name}", which it does not declare`, {
          expected: `one of: ${Object.keys(inputPaths).join(', ') || '(no file inputs)'}`,
          hint: `declare it under stages.${stage}.inputs in pipeline.yaml`,
          context: { stage, input: name },
        });
      }
      return path;
    },
    outPath(name: string): string {
      if (outDir === undefined) {
        throw new SpillwayError('internal', `stage "${stage}" asked for an output path but the context has no outDir`);
      }
      const kind = options.outs !== undefined && Object.hasOwn(options.outs, name) ? options.outs[name] : undefined;
      if (options.outs !== undefined && kind === undefined) {
        throw new SpillwayError('invalidPipeline', `stage "${stage}" asked for output path "${name}", which is not a declared file or dir output`, {
          expected: `one of: ${Object.keys(options.outs).join(', ') || '(no file/dir outputs)'}`,
          hint: `declare it under stages.${stage}.outs with \`file:\` or \`dir:\``,
          context: { stage, output: name },
        });
      }
      const path = join(outDir, name);
      if (relative(outDir, path).startsWith('..') || path.includes(`${sep}..${sep}`)) {
        throw new SpillwayError('invalidPipeline', `output name "${name}" escapes the output directory`, { context: { stage } });
      }
      mkdirSync(kind === 'dir' ? path : outDir, { recursive: true });
      return path;
    },
    log(message: string): void {
      log(String(message));
    },
  };
  return Object.freeze(context);
}
