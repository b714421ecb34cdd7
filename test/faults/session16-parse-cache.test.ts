// The parsed-pipeline cache (.spillway/pipeline-cache.json) was keyed by the file's text, the engine format and the
// output schemas, but not by the parser that wrote it: a cache written by an engine built before a new pipeline key
// (e.g. optional_deps) was read back by the new engine without that key. It now records the engine's build
// (engineBuild: size and mtime of the engine's modules and of the pipeline schema) and is parsed again when that differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seal, unsealBytes } from '../../src/engine/hash.js';
import { engineBuild, loadPipeline } from '../../src/engine/pipeline.js';
import { cleanupProjects, writeProject } from '../engine/helpers.js';

afterAll(cleanupProjects);

const yaml = `stages:
  one:
    description: as written in pipeline.yaml
    cmd: [sh, -c, "echo 1 > out.txt"]
    outs: { out: { file: out.txt } }
`;

/** Rewrites the cache as another engine would have left it: a different description, and the given build stamp. */
function rewriteCache(dir: string, engine: string | undefined): void {
  const file = join(dir, '.spillway/pipeline-cache.json');
  const cached = JSON.parse(unsealBytes(readFileSync(file))!) as { engine?: string; pipeline: { stages: Record<string, { description?: string }> } };
  cached.pipeline.stages.one.description = 'as the cache says';
  cached.engine = engine;
  writeFileSync(file, seal(JSON.stringify(cached)));
}

describe('parsed-pipeline cache and the engine build', () => {
  it('a cache from this build is used (control: the cache is really read)', async () => {
    const dir = writeProject({ 'pipeline.yaml': yaml });
    await loadPipeline(join(dir, 'pipeline.yaml'));
    rewriteCache(dir, engineBuild());
    expect((await loadPipeline(join(dir, 'pipeline.yaml'))).stages.one.description).toBe('as the cache says');
  });

  it('a cache written by another build of the engine, or by one that recorded no build, is parsed again', async () => {
    for (const engine of ['another build', undefined]) {
      const dir = writeProject({ 'pipeline.yaml': yaml });
      await loadPipeline(join(dir, 'pipeline.yaml'));
      rewriteCache(dir, engine);
      expect((await loadPipeline(join(dir, 'pipeline.yaml'))).stages.one.description).toBe('as written in pipeline.yaml');
    }
  });
});
