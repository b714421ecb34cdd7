// The sealed-cache format of this session (src/engine/hash.ts, 'spillway-sealed2': a checksum of the bytes taken four
// at a time) against damage: every single flipped bit of a sealed file (header and body, seeded sample of positions)
// and every truncation makes unseal/unsealBytes return undefined (the cache is discarded, never believed); a file of
// the previous format ('spillway-sealed') is still read, and a damaged one is refused too.
import { describe, expect, it } from 'vitest';
import { checksum, seal, unseal, unsealBytes } from '../../src/engine/hash.js';
import { Rng } from '../../src/stats/random.js';

/** seeded uniform draws in [0, 1) (the project's generator, src/stats/random.ts) */
const rng = (seed: number): (() => number) => {
  const g = Rng.fromSeed(seed);
  return () => g.uniform();
};

const text = JSON.stringify({ files: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`data/raw/f${i}.csv`, { size: 1000 + i, mtime: 1.7e12 + i * 0.25, hash: `sha256:${'ab'.repeat(32)}`, name: '中文é' }])) });

describe('sealed caches', () => {
  it('round trip, in both readers', () => {
    const sealed = seal(text);
    expect(sealed.startsWith('spillway-sealed2 ')).toBe(true);
    expect(unseal(sealed)).toBe(text);
    expect(unsealBytes(Buffer.from(sealed, 'utf8'))).toBe(text);
  });

  it('every flipped bit and every truncation is refused (seeded positions)', () => {
    const bytes = Buffer.from(seal(text), 'utf8');
    const r = rng(16);
    const accepted: string[] = [];
    for (let k = 0; k < 3000; k++) {
      const damaged = Buffer.from(bytes);
      const at = k < 200 ? k : Math.floor(r() * bytes.length); // the header and the first words, then anywhere
      damaged[at] ^= 1 << Math.floor(r() * 8);
      if (unsealBytes(damaged) !== undefined) accepted.push(`unsealBytes: bit at ${at}`);
      const asText = damaged.toString('utf8');
      if (unseal(asText) !== undefined && unseal(asText) !== text) accepted.push(`unseal: bit at ${at}`);
    }
    for (let end = 0; end < bytes.length; end += 7) {
      if (unsealBytes(bytes.subarray(0, end)) !== undefined) accepted.push(`unsealBytes: cut at ${end}`);
      if (unseal(bytes.subarray(0, end).toString('utf8')) !== undefined) accepted.push(`unseal: cut at ${end}`);
    }
    expect(accepted).toEqual([]);
  });

  it('the previous format is read, and refused when damaged', () => {
    const old = `spillway-sealed ${checksum(text)}\n${text}`;
    expect(unseal(old)).toBe(text);
    expect(unsealBytes(Buffer.from(old, 'utf8'))).toBe(text);
    const damaged = old.replace('"size":1003', '"size":1004');
    expect(unseal(damaged)).toBeUndefined();
    expect(unsealBytes(Buffer.from(damaged, 'utf8'))).toBeUndefined();
  });
});
