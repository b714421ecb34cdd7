// The embedded dataset through the pipeline's own stages: the generator's aggregates are what ingest makes of the
// records, its regressors are the lag stage's design, the calibration targets hold, and the truth is recovered.
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrationTable, formatCalibrationTable } from '../../src/synth/calibration-check.js';
import { generateCore, type Core } from '../../src/synth/dgp.js';
import { recoveryOf } from '../../src/synth/evaluate.js';
import { DEFAULT_SEED } from '../../src/synth/index.js';
import { ingestArtifactsOf, runDownstream, runIngest, type DownstreamArtifacts } from '../../src/synth/pipeline-bridge.js';

const root = join(import.meta.dirname, '..', '..');

describe('the embedded dataset through the pipeline stages', () => {
  let core: Core;
  let ingest: Record<string, unknown>;
  let down: DownstreamArtifacts;
  beforeAll(async () => {
    core = generateCore(DEFAULT_SEED);
    ingest = await runIngest(join(root, 'data/raw'), root);
    down = await runDownstream(ingest as { panel: unknown; collaboration: unknown }, { root, estimate: true, models: ['5', '8'] });
  }, 120_000);

  it('ingest of the record files equals the generator\'s aggregates (so the Monte Carlo may skip the files)', () => {
    const mine = ingestArtifactsOf(core);
    expect(isDeepStrictEqual(ingest.panel, mine.panel)).toBe(true);
    expect(isDeepStrictEqual(ingest.collaboration, mine.collaboration)).toBe(true);
    const report = ingest.ingest_report as { outliers: { year: number; filings: number; applicant: string }[] };
    expect(report.outliers.map((o) => [o.year, o.filings])).toEqual([[2001, 911]]);
  });

  it('the lag stage\'s design rows are exactly the regressors the generator drew the patents from', () => {
    const rows = (down.design as { rows: Record<string, number | string>[] }).rows;
    expect(rows.length).toBe(330);
    for (const row of rows) {
      const i = core.regions.findIndex((r) => r.code === row.region);
      const t = core.years.indexOf(row.year as number);
      const x = core.regressors[t]!;
      for (const [name, values] of Object.entries(x)) expect(row[name], `${row.region} ${row.year} ${name}`).toBe(values[i]);
      expect(row.nano_patents).toBe(core.nanoPatents[t][i]);
    }
  });

  it('meets every calibration target against the paper\'s published figures', () => {
    const table = calibrationTable({ ...ingest, ...down } as unknown as Parameters<typeof calibrationTable>[0], core.publications.reduce((a, p) => a + p.length, 0));
    const misses = table.filter((r) => !r.pass);
    expect(misses, formatCalibrationTable(misses)).toEqual([]);
    // the targets cover Tables 1-3, the CV trends, the top-4 share, the totals and the leading set
    expect(table.length).toBeGreaterThan(80);
  });

  it('recovers the true funding and collaboration-spillover coefficients of models 5 and 8 within 2 SE', () => {
    const recovery = recoveryOf(down.models as Parameters<typeof recoveryOf>[0]);
    expect(recovery).toHaveLength(4);
    for (const r of recovery) {
      expect(r.converged, `${r.model} ${r.variable}`).toBe(true);
      expect(Math.abs(r.z), `model ${r.model} ${r.variable}: ${r.estimate} vs truth ${r.truth} (SE ${r.se})`).toBeLessThanOrEqual(2);
    }
  });
});
