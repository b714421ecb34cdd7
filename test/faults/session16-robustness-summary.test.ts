// The report's honesty check of the sweep summary (src/report/replication/robustness.ts) against hand edits: it
// compares the default variant's models *hash* with the report's models, but not the default variant's *numbers*
// (its metrics, which Table A3's default column and the curves' default mark show) with those models. A summary whose
// default estimate was edited by hand, hash left alone, is shown as current with a number Table 4 contradicts.
// Fixed: the check now also compares the default variant's coefficients and SEs with the models (metricsNotIn).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COEFFICIENTS, contentHash, readSummary, robustnessState, SAMPLES } from '../../src/report/replication/robustness.js';

const root = join(import.meta.dirname, '..', '..');
const fixture = (name: string) => JSON.parse(readFileSync(join(root, 'test/fixtures/report', `${name}.json`), 'utf8'));
const models = fixture('models') as { models: { name: string; fit: { coef: Record<string, number>; se: Record<string, number> } | null }[] };
const params = { 'classify.criterion': 'total_publications', 'lag.years': 1, 'estimate.estimator': 'hhg-fenb' };

/** The fixture summary with its default variant made consistent with the models: hash and every coefficient's numbers. */
function consistent() {
  const doc = fixture('robustness-summary');
  const def = doc.variants[0];
  def.stages.estimate.outputs.models.content = contentHash(models);
  for (const c of COEFFICIENTS)
    for (const sample of SAMPLES) {
      const model = models.models.find((m) => m.name === c.models[sample]);
      if (!model?.fit || model.fit.coef[c.variable] === undefined) continue;
      def.metrics[`estimate.${c.coef}_${sample}`] = model.fit.coef[c.variable];
      def.metrics[`estimate.${c.se}_${sample}`] = model.fit.se[c.variable];
    }
  return doc;
}

describe('sweep summary edited by hand', () => {
  it('a summary whose default variant matches the report\'s models is current', () => {
    expect(robustnessState(readSummary(consistent(), 'x'), models, params).kind).toBe('current');
  });

  // DEFECT (left): the default variant's estimate changed by hand (its models hash intact) is still "current"
  it('the default variant\'s estimate edited by hand (hash intact) is stale, not current', () => {
    const doc = consistent();
    const key = Object.keys(doc.variants[0].metrics).find((k: string) => k.startsWith('estimate.funding_'))!;
    doc.variants[0].metrics[key] = -doc.variants[0].metrics[key] - 1;
    expect(robustnessState(readSummary(doc, 'x'), models, params).kind).toBe('stale');
  });
});
