// canonicalJson (src/engine/hash.ts) makes the text every cache key and digest is the hash of. Hand-written cases,
// then seeded random values against the definition the keys of existing caches were made with (JSON.stringify with a
// replacer that copies each object, keys sorted, into `{}`): the same text for every value without a "__proto__" key,
// which that copy dropped (two values differing only there had one key) and which is now kept.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/engine/hash.js';
import { Rng } from '../../src/stats/random.js';

/** The definition the keys of existing caches were made with (before a "__proto__" key was kept). */
function reference(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

describe('canonicalJson', () => {
  it('sorts keys at every level; integer-like keys first, in numeric order, as JavaScript enumerates them', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ b: 1, 10: 'x', 9: 'y', a: 2, '01': 3, '-1': 4 })).toBe('{"9":"y","10":"x","-1":4,"01":3,"a":2,"b":1}');
    expect(canonicalJson({ 4294967295: 'a', 4294967294: 'b', 5: 'c' })).toBe('{"5":"c","4294967294":"b","4294967295":"a"}');
  });

  it('writes values as JSON.stringify does: undefined dropped in objects and null in arrays, non-finite numbers null, toJSON', () => {
    expect(canonicalJson({ a: undefined, b: () => 1, c: [undefined, () => 1, Symbol('s'), Number.NaN, -0, 1e21, 1e-7, Infinity] })).toBe('{"c":[null,null,null,null,0,1e+21,1e-7,null]}');
    expect(canonicalJson({ when: new Date(Date.UTC(2020, 0, 2)) })).toBe('{"when":"2020-01-02T00:00:00.000Z"}');
    expect(canonicalJson({ s: 'quote " back \\ newline \n tab \t nul \u0000 é 😀 \ud800' })).toBe(JSON.stringify({ s: 'quote " back \\ newline \n tab \t nul \u0000 é 😀 \ud800' }));
    expect(canonicalJson(undefined)).toBe(undefined);
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });

  it('keeps a "__proto__" key (the replacer copy dropped it, so two values differing there had one key)', () => {
    const a = JSON.parse('{"p": {"__proto__": 1, "x": 2}}') as unknown;
    const b = JSON.parse('{"p": {"__proto__": 2, "x": 2}}') as unknown;
    expect(reference(a)).toBe(reference(b)); // the old definition's collision
    expect(canonicalJson(a)).toBe('{"p":{"__proto__":1,"x":2}}');
    expect(canonicalJson(a)).not.toBe(canonicalJson(b));
  });

  it('matches the definition on 3,000 seeded random values', () => {
    const rng = Rng.fromSeed(20261201);
    const u = () => rng.uniform();
    const pick = <T>(xs: T[]): T => xs[Math.floor(u() * xs.length)] as T;
    const keys = ['a', 'b', 'B', 'z', '', ' ', 'é', 'Ω', '😀', '0', '1', '2', '9', '10', '01', '-1', '1.5', '1e3', '4294967294', '4294967295', '4294967296', 'constructor', 'toString', 'hasOwnProperty', 'key with space', 'quote"', 'back\\slash', 'new\nline'];
    const leaf = (): unknown =>
      pick<() => unknown>([
        () => null,
        () => true,
        () => false,
        () => undefined,
        () => Math.floor(u() * 2000) - 1000,
        () => (u() - 0.5) * 10 ** Math.floor(u() * 40 - 20),
        () => pick([0, -0, Number.NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 1e-7, 0.1 + 0.2]),
        () => pick(keys) + pick(keys),
        () => 'sha256:' + Math.floor(u() * 1e15).toString(16),
        () => new Date(Math.floor(u() * 4e12)),
      ])();
    const value = (depth: number): unknown => {
      const r = u();
      if (depth <= 0 || r < 0.35) return leaf();
      if (r < 0.65) return Array.from({ length: Math.floor(u() * 5) }, () => value(depth - 1));
      const o: Record<string, unknown> = u() < 0.2 ? Object.create(null) : {};
      const n = Math.floor(u() * 7);
      for (let i = 0; i < n; i++) o[pick(keys)] = value(depth - 1);
      return o;
    };
    const mismatches: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = value(5);
      const want = reference(v);
      const got = canonicalJson(v);
      if (got !== want && mismatches.length < 5) mismatches.push(`${want} !== ${got}`);
    }
    expect(mismatches).toEqual([]);
  });
});
