// The hand-made sweep summary (test/fixtures/report/robustness-summary.json) and models that agree with its default
// variant, as a real sweep's default variant agrees with the report's Table 4: the honesty check compares the default's
// coefficients and SEs with the models, not only the models hash (src/report/replication/robustness.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COEFFICIENTS, SAMPLES } from '../../src/report/replication/robustness.js';

const root = join(import.meta.dirname, '..', '..');
export const reportFixture = (name: string) => JSON.parse(readFileSync(join(root, 'test/fixtures/report', `${name}.json`), 'utf8'));
export const rawSummary = () => reportFixture('robustness-summary');

/** The models fixture with each coefficient of interest and its SE set from the summary's default variant, or removed where it has none. */
export function modelsAgreeingWithDefault(): { models: { name: string; fit: Record<string, Record<string, number>> | null }[] } {
  const models = reportFixture('models');
  const metrics = rawSummary().variants[0].metrics as Record<string, number | null | undefined>;
  for (const c of COEFFICIENTS)
    for (const sample of SAMPLES) {
      const fit = models.models.find((m: { name: string }) => m.name === c.models[sample])?.fit;
      if (!fit) continue;
      for (const [field, name] of [['coef', c.coef], ['se', c.se]] as const) {
        const v = metrics[`estimate.${name}_${sample}`];
        if (v === undefined || v === null) delete fit[field][c.variable];
        else fit[field][c.variable] = v;
      }
    }
  return models;
}
