// Hostile pass 2 (session 16): a sweep summary whose variants list has duplicates. readSummary accepts a variant id
// twice (fixed: now refused with the pointer of the repeat); robustnessState then called the summary current and the curves/Table A3 count the duplicate as a second variant
// (agreement shares computed over a variant counted twice), a wrong number rendered as current. A summary the sweep
// writes never repeats an id (the id is the hash of the overrides), so a repeat means the file was edited or damaged:
// it should be refused (readSummary throws, the report says so) or at least be stale.
import { describe, expect, it } from 'vitest';
import { contentHash, readSummary, robustnessState } from '../../src/report/replication/robustness.js';
import { modelsAgreeingWithDefault, rawSummary } from '../report/robustness-fixture.js';

const models = modelsAgreeingWithDefault();
/** the fixture summary made current: its default variant's models hash is the models' */
function summary() {
  const doc = rawSummary();
  doc.variants[0].stages.estimate.outputs.models.content = contentHash(models);
  return doc;
}
const params = { 'classify.criterion': 'total_publications', 'lag.years': 1, 'estimate.estimator': 'hhg-fenb' };

function stateOf(doc: unknown): string {
  try {
    return robustnessState(readSummary(doc, 'results/robustness.json'), models, params).kind;
  } catch {
    return 'refused';
  }
}

describe('duplicate variants in a sweep summary', () => {
  it('the fixture as it is, is current (control)', () => {
    expect(stateOf(summary())).toBe('current');
  });

  it('a non-default variant listed twice is not current', () => {
    const doc = summary();
    const other = doc.variants.find((v: { changed: unknown[] }) => v.changed.length > 0);
    doc.variants.push(structuredClone(other));
    expect(stateOf(doc)).not.toBe('current');
  });

  it('the default variant listed twice is not current', () => {
    const doc = summary();
    doc.variants.push(structuredClone(doc.variants[0]));
    expect(stateOf(doc)).not.toBe('current');
  });

  it('a summary with a repeated variant is refused with the JSON pointer of the repeat, not counted twice', () => {
    const doc = summary();
    doc.variants.push(structuredClone(doc.variants.find((v: { changed: unknown[] }) => v.changed.length > 0)));
    expect(() => readSummary(doc, 'p')).toThrow(/at \/variants\/9\/id/);
  });
});
