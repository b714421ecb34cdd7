// The engine's view of the current pipeline, as audit and export need it; kept behind a dynamic import so that the
// lockfile-only checks work (and are tested) independently of the engine.
import path from 'node:path';
import type { PipelineView } from './audit.js';

export type PipelineLoad = { view: PipelineView } | { error: unknown };

export async function loadPipelineView(pipelineFile: string): Promise<PipelineLoad> {
  try {
    const { loadPipeline, codeFilesOf, declaredDeps, declaredParams, packageVersion, StatCache } = await import('../engine/index.js');
    // The engine's parsed-pipeline cache holds the pipeline file's text and is sealed with a checksum (an edited or
    // damaged cache is parsed afresh), so it is safe to use and saves the YAML parse and schema compile. The stat
    // cache below is never saved: only file names are taken from it; every hash audit compares is computed from bytes.
    const pipeline = await loadPipeline(pipelineFile);
    const cache = new StatCache(pipeline.root, undefined);
    const rel = (abs: string) => path.relative(pipeline.root, abs).split(path.sep).join('/');
    const view: PipelineView = {
      stages: [...pipeline.order],
      params: (stage) => (Object.hasOwn(pipeline.stages, stage) ? declaredParams(pipeline, stage) : {}),
      async deps(stage) {
        if (!Object.hasOwn(pipeline.stages, stage)) return [];
        // only glob matches can appear unannounced; literal deps are checked through their recorded hashes
        return (await declaredDeps(pipeline, stage, cache)).filter((d) => d.glob !== undefined).map((d) => d.path);
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
