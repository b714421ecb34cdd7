// Runs the replication's own stage functions (stages/*.ts, with pipeline.yaml's params) in-process through
// createStageContext, so the synthetic data's calibration checks, recovery check and Monte Carlo use exactly the
// pipeline's definitions. Stage modules are TypeScript outside src/, loaded through tsx's ESM API (works from dist/).
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import { declaredInputs, declaredParams, stageModule } from '../engine/declaration.js';
import { loadPipeline, selectStages, type Pipeline } from '../engine/pipeline.js';
import { createStageContext } from '../engine/stage-context.js';
import type { StageFunction } from '../engine/stage-api.js';
import { FOREIGN_PARTNERS, YEARS } from './calibration.js';
import { countPublications, type Core } from './dgp.js';

/** The project root (two levels above this module, in src/synth or dist/synth). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const stageCache = new Map<string, StageFunction>();
/** pipeline.yaml of the project at `root`, as the engine reads it. */
function pipelineAt(root: string, overrides: string[] = []): Promise<Pipeline> {
  return loadPipeline(join(root, 'pipeline.yaml'), { overrides });
}

export async function loadStage(name: string, root = PROJECT_ROOT): Promise<StageFunction> {
  const path = stageModule(await pipelineAt(root), name);
  if (path === undefined) throw new Error(`stage "${name}" is a command stage; the bridge runs module stages only`);
  let stage = stageCache.get(path);
  if (!stage) {
    const { tsImport } = await import('tsx/esm/api');
    const mod = (await tsImport(path, import.meta.url)) as { default: StageFunction | { default: StageFunction } };
    // tsImport may wrap a module's default export once more
    stage = typeof mod.default === 'function' ? mod.default : (mod.default as { default: StageFunction }).default;
    stageCache.set(path, stage);
  }
  return stage;
}

/** The declared params of a stage, from pipeline.yaml (with overrides such as "estimate.models=[…]"). */
export async function stageParams(stage: string, root = PROJECT_ROOT, overrides: string[] = []): Promise<Record<string, unknown>> {
  return declaredParams(await pipelineAt(root, overrides), stage);
}

export async function runStage(
  name: string,
  inputs: Record<string, unknown>,
  options: { root?: string; deps?: string[]; params?: Record<string, unknown> } = {},
): Promise<Record<string, unknown>> {
  const root = options.root ?? PROJECT_ROOT;
  const stage = await loadStage(name, root);
  const params = options.params ?? (await stageParams(name, root));
  const ctx = createStageContext({ stage: name, params, inputs, deps: options.deps ?? [], projectRoot: root, log: () => {} });
  return await stage(ctx);
}

/** The ingest stage on a directory of raw files (the real record-level path). */
export async function runIngest(rawDir: string, root = PROJECT_ROOT): Promise<Record<string, unknown>> {
  const raw = ['regions.csv', 'region_year.csv', 'patents.csv.gz', 'publications.csv.gz', 'funding.csv.gz'].map((f) => join(rawDir, f));
  const schemas = (await fg('schemas/raw/*.schema.json', { cwd: root, absolute: true })).sort();
  // ctx.dep() resolves schema paths project-relatively, so keep them under the root
  return runStage('ingest', {}, { root, deps: [...raw, ...schemas].map((p) => (p.startsWith(root) ? relative(root, p) : p)) });
}

/**
 * What the ingest stage produces from the record files, built directly from the generator's aggregates (no files).
 * test/synth checks it equals the ingest of the written records, so the Monte Carlo may skip the files.
 */
export function ingestArtifactsOf(core: Core): { panel: unknown; collaboration: unknown } {
  const n = core.regions.length;
  const counted = core.publications.map((pubs) => countPublications(pubs, n));
  const rows = core.regions.flatMap((region, i) =>
    YEARS.map((year, t) => ({
      region: region.code,
      year,
      nano_patents: core.nanoPatents[t][i],
      nano_patents_outlier: core.outlierFilings[t][i],
      nonnano_patents: core.patentsTotal[t][i] - core.nanoPatents[t][i] - core.outlierFilings[t][i],
      patents_total: core.patentsTotal[t][i],
      nano_publications: counted[t].pubs[i],
      interregional_publications: counted[t].interRegional[i],
      foreign_copublications: counted[t].foreign[i],
      total_publications: core.publicationsTotal[t][i],
      nano_funding: core.funding[t][i],
      gdp: core.gdp[t][i],
      population: core.population[t][i],
      rd_expenditure: core.rd[t][i],
    })),
  );
  const codes = core.regions.map((r) => r.code);
  const copublications: { year: number; region_a: string; region_b: string; count: number }[] = [];
  const foreign: { year: number; region: string; partner: string; count: number }[] = [];
  YEARS.forEach((year, t) => {
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (counted[t].copubs[a][b] > 0) copublications.push({ year, region_a: codes[a], region_b: codes[b], count: counted[t].copubs[a][b] });
    const byPartner = Array.from({ length: n }, () => new Array<number>(FOREIGN_PARTNERS.length).fill(0));
    for (const p of core.publications[t]) for (const i of new Set(p.regions)) for (const k of p.partners) byPartner[i][k] += 1;
    for (let i = 0; i < n; i++) for (let k = 0; k < FOREIGN_PARTNERS.length; k++) if (byPartner[i][k] > 0) foreign.push({ year, region: codes[i], partner: FOREIGN_PARTNERS[k], count: byPartner[i][k] });
  });
  return {
    panel: { regions: core.regions.map((r) => ({ code: r.code, name: r.name, capital: r.capital, lat: r.lat, lon: r.lon })), years: [...YEARS], rows },
    collaboration: { regions: codes, years: [...YEARS], partners: [...FOREIGN_PARTNERS], copublications, foreign_copublications: foreign },
  };
}

export interface DownstreamArtifacts {
  groups: unknown;
  weights: unknown;
  spillovers: unknown;
  design: unknown;
  models?: unknown;
}

/**
 * The stages pipeline.yaml declares between ingest and lag (or estimate, restricted to `models` when given), in the
 * pipeline's order, each fed the inputs it declares from what ingest and the stages before it produced.
 */
export async function runDownstream(
  ingest: { panel: unknown; collaboration: unknown },
  options: { root?: string; estimate?: boolean; models?: string[] } = {},
): Promise<DownstreamArtifacts> {
  const root = options.root ?? PROJECT_ROOT;
  const pipeline = await pipelineAt(root);
  const artifacts = new Map<string, unknown>(Object.entries(ingest).map(([name, value]) => [`ingest.${name}`, value]));
  const byName: Record<string, unknown> = {};
  for (const name of selectStages(pipeline, [options.estimate ? 'estimate' : 'lag']).filter((n) => n !== 'ingest')) {
    const inputs: Record<string, unknown> = {};
    for (const input of declaredInputs(pipeline, name)) {
      if (!artifacts.has(`${input.stage}.${input.output}`)) throw new Error(`stage "${name}" reads ${input.stage}.${input.output}, which the bridge does not produce`);
      inputs[input.name] = artifacts.get(`${input.stage}.${input.output}`);
    }
    let params: Record<string, unknown> | undefined;
    if (name === 'estimate' && options.models) {
      params = declaredParams(pipeline, name);
      params['estimate.models'] = (params['estimate.models'] as { name: string }[]).filter((m) => options.models!.includes(m.name));
    }
    const outputs = await runStage(name, inputs, { root, ...(params ? { params } : {}) });
    for (const [output, value] of Object.entries(outputs)) {
      artifacts.set(`${name}.${output}`, value);
      byName[output] = value;
    }
  }
  return byName as unknown as DownstreamArtifacts;
}
