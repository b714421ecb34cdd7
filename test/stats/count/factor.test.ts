// expandFactor: Stata-style indicator columns.
import { describe, expect, it } from 'vitest';
import { expandFactor } from '../../../src/stats/count/index.js';

describe('expandFactor', () => {
  it('makes one indicator per non-base level, named <level>.<factor>, base = smallest level (numeric order)', () => {
    const expanded = expandFactor([2001, 2010, 2002, 2001, 2010], { name: 'year' });
    expect(expanded.levels).toEqual(['2001', '2002', '2010']); // numeric, not lexicographic, order
    expect(expanded.base).toBe('2001b.year');
    expect(expanded.names).toEqual(['2002.year', '2010.year']);
    expect(expanded.columns).toEqual([
      [0, 0, 1, 0, 0],
      [0, 1, 0, 0, 1],
    ]);
  });

  it('takes an explicit base level and string levels', () => {
    const expanded = expandFactor(['north', 'south', 'east', 'south'], { name: 'region', base: 'south' });
    expect(expanded.names).toEqual(['east.region', 'north.region']);
    expect(expanded.columns).toEqual([
      [0, 0, 1, 0],
      [1, 0, 0, 0],
    ]);
    expect(() => expandFactor([1, 2], { base: 3 })).toThrow(/base level "3"/);
  });
});
