// The engine's view of the current pipeline, as audit and export need it; kept behind a dynamic import so that the
// lockfile-only checks work (and are tested) independently of the engine.
import path from 'node:path';
import type { PipelineView } from './audit.js';

const GLOB_CHARS = /[*?[\]{}]/;

export type PipelineLoad = { view: PipelineView } | { error: unknown };

export async function loadPipelineView(pipelineFile: string): Promise<PipelineLoad> {
  try {
    const { loadPipeline, codeFilesOf, getDotted, packageVersion, StatCache } = await import('../engine/index.js');
    // The engine's parsed-pipeline cache is keyed by the hash of the pipeline file's bytes, so it is safe to use and
    // saves the YAML parse and schema compile (about a second on a loaded machine). The stat cache below is never
    // saved: only file names are taken from it; every hash audit compares is computed from the bytes.
    const pipeline = await loadPipeline(pipelineFile);
    const cache = new StatCache(pipeline.root, undefined);
    const rel = (abs: string) => path.relative(pipeline.root, abs).split(path.sep).join('/');
    const view: PipelineView = {
      stages: [...pipeline.order],
      params(stage) {
        const out: Record<string, unknown> = {};
        for (const key of pipeline.stages[stage]?.params ?? []) out[key] = getDotted(pipeline.params, key).value;
        Object.assign(out, pipeline.stages[stage]?.instance?.params); // a matrix/foreach instance's own values
        return out;
      },
      async deps(stage) {
        const declared = pipeline.stages[stage]?.deps ?? [];
        const globs = declared.filter((d) => GLOB_CHARS.test(d));
        if (globs.length === 0) return [];
        // only glob matches can appear unannounced; literal deps are checked through their recorded hashes
        const fastGlob = (await import('fast-glob')).default;
        const matches = await fastGlob(globs, { cwd: pipeline.root, onlyFiles: true, dot: false });
        return [...new Set(matches)].sort();
      },
      packageVersion: (name) => packageVersion(pipeline.root, name),
      async codeFiles(stage) {
        return (await codeFilesOf(pipeline, stage, cache)).map(rel);
      },
    };
    return { view };
  } catch (error) {
    return { error };
  }
}
