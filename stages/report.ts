// report: the replication artifacts → report/ (index.html, tables/*.md|tex|csv, figures/*.svg, calibration.json).
// All building is in src/report/replication (paper-specific) and src/report (generic rendering); this is the wiring.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { StageFunction } from '../src/engine/stage-api.js';
import { writeFileTree } from '../src/report/files.js';
import { buildReplicationReport } from '../src/report/replication/build.js';
import type { DatasetHints } from '../src/report/replication/data.js';
import { asPublished } from '../src/report/replication/published.js';

const PUBLISHED = 'data/paper/published.json';

const report: StageFunction = async (ctx) => {
  const published = asPublished(JSON.parse(readFileSync(ctx.dep(PUBLISHED), 'utf8')), PUBLISHED);
  // optional deps (a glob that may match nothing): the data's truth.json and README say whether it is synthetic
  const hints: DatasetHints = {};
  for (const dep of ctx.deps) {
    if (basename(dep) === 'truth.json') hints.truth = JSON.parse(readFileSync(dep, 'utf8'));
    if (basename(dep) === 'README.md') hints.readme = readFileSync(dep, 'utf8');
  }
  const { panel, ingest_report, groups, spillovers, design, models } = ctx.inputs;
  const built = await buildReplicationReport({ panel, ingest_report, groups, spillovers, design, models }, published, ctx.params, hints);
  const written = writeFileTree(ctx.outPath('site'), built.files);
  const missed = built.calibration.filter((r) => r.met === false).length;
  ctx.log(`wrote ${written.length} files (dataset: ${built.data.dataset.synthetic === true ? 'synthetic' : built.data.dataset.synthetic === false ? 'real' : 'not identified'}; calibration targets missed: ${missed})`);
  return {};
};

export default report;
