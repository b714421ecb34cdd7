// Session 17 fault pass over the speed work: hostile inputs for the exact fingerprint set of duplicate ids, the CSV
// reader's byte columns, value codes and no-quote fast path, and the CLI's start-up (tests written to fail first).
import { describe, expect, it } from 'vitest';
import { DuplicateIds } from '../../src/data/bounded.js';

/** The two 32-bit hashes DuplicateIds takes of an id's UTF-8 bytes (src/data/bounded.ts, bytesHashes), computed here anew. */
function fingerprint(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x6c62272e;
  for (const c of Buffer.from(id, 'utf8')) {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a | 0, b | 0];
}

describe('duplicate ids: the exact set, then the Bloom filter past its cap', () => {
  it('an id whose fingerprint is (0, 0) and that repeats after the set moved into the filter is still caught', () => {
    // fingerprints cut to 4 bits each (256 values), a set of 16 slots (full at its 11th): ids chosen by their fingerprints
    const mask = 0xf;
    const masked = (id: string) => fingerprint(id).map((h) => h & mask).join(',');
    const candidates = Array.from({ length: 20_000 }, (_, k) => `ID-${k}`);
    const zero = candidates.find((id) => masked(id) === '0,0')!;
    expect(zero).toBeDefined();
    // ten other ids of distinct fingerprints, none (0, 0) or (0, 1) (the slot's own stand-in for (0, 0))
    const fillers: string[] = [];
    const seen = new Set(['0,0', '0,1']);
    for (const id of candidates) {
      if (fillers.length === 10) break;
      if (seen.has(masked(id))) continue;
      seen.add(masked(id));
      fillers.push(id);
    }
    expect(fillers).toHaveLength(10);
    const ids = new DuplicateIds('publication', { log2Slots: 4, maxLog2Slots: 4, fallbackLog2Bits: 9, probes: 4, fingerprintMask: mask });
    let row = 0;
    expect(ids.offer(zero, ++row)).toBe(false);
    for (const id of fillers) expect(ids.offer(id, ++row)).toBe(false);
    expect(ids.set).toBeUndefined(); // the set was full: its fingerprints are in the filter now
    // a filter has no false negatives: the repeat must be held back for the exact second pass
    const again = ++row;
    expect(ids.offer(zero, again)).toBe(true);
    expect(ids.confirm(zero, 1)).toBe('skip');
    expect(ids.confirm(zero, again)).toBe(1);
  });
});
