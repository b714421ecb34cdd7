// What a stage declares, as the engine reads it: the values of its params, its deps with globs expanded, its module
// and its inputs. The fingerprint (and so every cache key) is computed from these, and provenance and the
// synthetic-data bridge ask here too, so nothing outside the engine keeps a copy that could disagree with a run.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SpillwayError } from '../errors.js';
import { GLOB_CHARS } from './code.js';
import { expandGlob } from './glob.js';
import { StatCache } from './hash.js';
import type { Pipeline, StageDecl } from './pipeline.js';
import { getDotted } from './stage-context.js';

function stageOf(pipeline: Pipeline, name: string): StageDecl {
  const stage = Object.hasOwn(pipeline.stages, name) ? pipeline.stages[name] : undefined;
  if (stage === undefined) throw new SpillwayError('usage', `unknown stage "${name}"`, { expected: `one of: ${pipeline.order.join(', ')}` });
  return stage;
}

/** The stage's declared params with their current values (overrides and instance values applied), dotted key → value, keys sorted. */
export function declaredParams(pipeline: Pipeline, name: string): Record<string, unknown> {
  const stage = stageOf(pipeline, name);
  const values: Record<string, unknown> = {};
  for (const key of stage.params) values[key] = getDotted(pipeline.params, key).value;
  // an instance of a matrix/foreach stage: its axis values, which enter only its own key (expand.ts)
  if (stage.instance) Object.assign(values, stage.instance.params);
  const params: Record<string, unknown> = {};
  for (const key of Object.keys(values).sort()) params[key] = values[key];
  return params;
}

export interface DeclaredDep {
  /** project-relative path; a directory dep ends in "/" */
  path: string;
  /** the glob pattern it matched, when it came from one */
  glob?: string;
}

/**
 * The stage's deps as files and directories, globs expanded (the engine's own glob matcher, cached in the stat cache
 * when one is given), sorted by path. A literal dep that does not exist is an invalid-input error naming stage and path
 * (or, with `skipMissing`, left out: audit in an exported package without its data); an absent optional dep is left out.
 */
export async function declaredDeps(
  pipeline: Pipeline,
  name: string,
  cache: StatCache = new StatCache(pipeline.root, undefined),
  options: { skipMissing?: boolean } = {},
): Promise<DeclaredDep[]> {
  const stage = stageOf(pipeline, name);
  const found = new Map<string, DeclaredDep>();
  for (const dep of stage.deps) {
    if (GLOB_CHARS.test(dep)) {
      const { matches, entry, fresh } = await expandGlob(pipeline.root, dep, cache.getGlob(dep));
      if (fresh) cache.setGlob(dep, entry);
      for (const m of matches) if (!found.has(m)) found.set(m, { path: m, glob: dep });
      continue;
    }
    const abs = resolve(pipeline.root, dep);
    let isDir: boolean;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      // an optional dep (optional_deps:) that is absent is left out: its absence is part of the key
      if (options.skipMissing || stage.optionalDeps?.includes(dep)) continue;
      throw new SpillwayError('invalidInput', `stage "${name}": dep ${dep} does not exist`, {
        file: dep,
        expected: 'an existing file, directory or glob (relative to the pipeline file)',
        hint: 'create the file, or fix the path under deps in pipeline.yaml',
        context: { stage: name, dep },
      });
    }
    const rel = cache.relative(abs);
    found.set(rel, { path: isDir ? `${rel}/` : rel });
  }
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The absolute path of a module stage's file (undefined for a command stage). */
export function stageModule(pipeline: Pipeline, name: string): string | undefined {
  const stage = stageOf(pipeline, name);
  return stage.run === undefined ? undefined : resolve(pipeline.root, stage.run);
}

/** The stage's inputs: local name → the upstream stage and output it reads. */
export function declaredInputs(pipeline: Pipeline, name: string): { name: string; stage: string; output: string }[] {
  return stageOf(pipeline, name).inputs.map((i) => ({ name: i.name, stage: i.stage, output: i.output }));
}
