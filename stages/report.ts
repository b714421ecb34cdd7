// report: the replication artifacts → report/ (index.html, tables/*.md|tex|csv, figures/*.svg, calibration.json).
// All building is in src/report/replication (paper-specific) and src/report (generic rendering); this is the wiring.
// Everything read here is declared in pipeline.yaml: the artifacts (inputs), the params, and as deps the published
// numbers, the raw data files (hashed for the header's dataset identity), data/raw/{README.md,truth.json} when they
// exist, and pipeline.yaml itself (its params block, to list every param this run changed with --set); as an optional
// dep the robustness sweep's summary (results/robustness.json), absent until `spillway sweep sweeps/robustness.yaml`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { StageFunction } from '../src/engine/stage-api.js';
import { writeFileTree } from '../src/report/files.js';
import { SpillwayError } from '../src/errors.js';
import { buildReplicationReport, flattenParams, type RobustnessInput, type RunIdentity } from '../src/report/replication/build.js';
import type { DatasetHints } from '../src/report/replication/data.js';
import { asPublished } from '../src/report/replication/published.js';

const PUBLISHED = 'data/paper/published.json';
const SUMMARY = 'results/robustness.json';
const RAW = /^(regions|region_year|patents|publications|funding)\.csv(\.gz)?$/;

const report: StageFunction = async (ctx) => {
  const published = asPublished(JSON.parse(readFileSync(ctx.dep(PUBLISHED), 'utf8')), PUBLISHED);
  // optional deps (a glob that may match nothing): the data's truth.json and README say whether it is synthetic
  const hints: DatasetHints = {};
  const identity: RunIdentity = { defaults: null, rawFiles: [] };
  const robustness: RobustnessInput = { path: SUMMARY, summary: null };
  for (const dep of ctx.deps) {
    if (dep.endsWith(`/${SUMMARY}`)) {
      try {
        robustness.summary = JSON.parse(readFileSync(dep, 'utf8'));
      } catch (error) {
        throw new SpillwayError('stageFailed', `report: the sweep summary ${SUMMARY} is not valid JSON: ${(error as Error).message}`, {
          file: SUMMARY,
          hint: 'write it again: ./bin/spillway.js sweep sweeps/robustness.yaml',
        });
      }
    }
    const name = basename(dep);
    if (name === 'truth.json') hints.truth = JSON.parse(readFileSync(dep, 'utf8'));
    if (name === 'README.md') hints.readme = readFileSync(dep, 'utf8');
    if (name === 'pipeline.yaml') {
      const doc = parseYaml(readFileSync(dep, 'utf8')) as { params?: Record<string, unknown> } | null;
      identity.defaults = flattenParams(doc?.params ?? {});
    }
    if (RAW.test(name)) {
      const bytes = readFileSync(dep);
      identity.rawFiles!.push({ path: `data/raw/${name}`, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
    }
  }
  const { panel, ingest_report, groups, spillovers, design, models } = ctx.inputs;
  const built = await buildReplicationReport({ panel, ingest_report, groups, spillovers, design, models }, published, ctx.params, hints, identity, robustness);
  const written = writeFileTree(ctx.outPath('site'), built.files);
  const missed = built.calibration.filter((r) => r.met === false).length;
  ctx.log(`wrote ${written.length} files (dataset: ${built.data.dataset.synthetic === true ? 'synthetic' : built.data.dataset.synthetic === false ? 'real' : 'not identified'}; calibration targets missed: ${missed})`);
  return {};
};

export default report;
