// Runs a replication stage in-process with the engine's own StageContext, with pipeline.yaml's params (plus
// overrides), and validates every JSON output against the schema pipeline.yaml declares for it.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ajvModule from 'ajv';
import { parse } from 'yaml';
import { createStageContext, getDotted, setDotted } from '../../src/engine/stage-context.js';
import type { StageFunction } from '../../src/engine/stage-api.js';

export const projectRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const tinyDataset = join(projectRoot, 'test/fixtures/tiny-dataset');

interface StageYaml {
  run: string;
  params?: string[];
  outs: Record<string, { schema?: string }>;
}
const pipeline = parse(readFileSync(join(projectRoot, 'pipeline.yaml'), 'utf8')) as { params: Record<string, unknown>; stages: Record<string, StageYaml> };

/** The tiny dataset covers 1999-2001 only. */
export const TINY_OVERRIDES = { 'ingest.years': [1999, 2001], 'lag.estimation_years': [2000, 2001] };

const ajv = new ajvModule.default({ allErrors: true, strict: false });
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
export function validateArtifact(schemaPath: string, value: unknown): void {
  let validate = validators.get(schemaPath);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(join(projectRoot, schemaPath), 'utf8')));
    validators.set(schemaPath, validate);
  }
  if (!validate(value)) throw new Error(`${schemaPath}: ${ajv.errorsText(validate.errors)}`);
}

export interface RunOptions {
  inputs?: Record<string, unknown>;
  overrides?: Record<string, unknown>;
  dataDir?: string;
  logs?: string[];
}

export async function runStage(stage: string, options: RunOptions = {}): Promise<Record<string, any>> {
  const decl = pipeline.stages[stage];
  const params: Record<string, unknown> = {};
  for (const key of decl.params ?? []) {
    const override = options.overrides && Object.hasOwn(options.overrides, key);
    setDotted(params, key, override ? options.overrides![key] : getDotted(pipeline.params, key).value);
  }
  const dataDir = options.dataDir ?? tinyDataset;
  const deps =
    stage === 'ingest'
      ? [...readdirSync(dataDir).filter((f) => f.includes('.csv')).map((f) => join(dataDir, f)), ...readdirSync(join(projectRoot, 'schemas/raw')).map((f) => join(projectRoot, 'schemas/raw', f))]
      : [];
  const ctx = createStageContext({ stage, params, inputs: options.inputs, deps, projectRoot, log: (m) => options.logs?.push(m) });
  const module = (await import(join(projectRoot, decl.run))) as { default: StageFunction };
  const outputs = await module.default(ctx);
  for (const [name, out] of Object.entries(decl.outs)) {
    if (!out.schema) continue;
    if (!(name in outputs)) throw new Error(`stage ${stage} did not return output ${name}`);
    // what the engine stores is JSON: round-trip it so that undefined and NaN cannot slip through
    validateArtifact(out.schema, JSON.parse(JSON.stringify(outputs[name])));
  }
  return outputs;
}

/** ingest → classify → weights → spillovers → lag on the tiny dataset (estimate needs more data than it has). */
export async function runTinyThroughLag(overrides: Record<string, unknown> = {}) {
  const o = { ...TINY_OVERRIDES, ...overrides };
  const { panel, collaboration, ingest_report } = await runStage('ingest', { overrides: o });
  const { groups } = await runStage('classify', { inputs: { panel }, overrides: o });
  const { weights } = await runStage('weights', { inputs: { panel, collaboration }, overrides: o });
  const { spillovers } = await runStage('spillovers', { inputs: { panel, weights }, overrides: o });
  const { design } = await runStage('lag', { inputs: { panel, spillovers, groups }, overrides: o });
  return { panel, collaboration, ingest_report, groups, weights, spillovers, design };
}
