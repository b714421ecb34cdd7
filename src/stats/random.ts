// Seeded pseudo-random numbers and standard samplers (uniform, normal, gamma, Poisson, HHG negative binomial), shared by
// the synthetic-data generator, the estimator tests and the benchmarks.
//
// Generator: xoshiro128** 1.1 (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
// ACM TOMS 2021; reference C code at https://prng.di.unimi.it/xoshiro128starstar.c), 32-bit state words,
// period 2^128 − 1. It is seeded, as its authors recommend, by expanding the seed with SplitMix64
// (Steele, Lea & Flood 2014; https://prng.di.unimi.it/splitmix64.c). Independent streams for
// different purposes are derived from (seed, label) so that drawing more records never shifts the
// draws of the aggregate model.
import { gammaln } from 'simple-statistics';

const MASK64 = (1n << 64n) - 1n;

/** SplitMix64: one step, returning the next state and its 64-bit output. */
function splitMix64(state: bigint): [bigint, bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

/** FNV-1a (32-bit) of a label, used to derive a stream from (seed, label). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** A generator from an explicit 128-bit state (not all zero); prefer `Rng.fromSeed`. */
  constructor(state: [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w >>> 0) as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) throw new RangeError('xoshiro128** state must not be all zero');
  }

  /** Seed (a non-negative safe integer) and optional stream label → a generator; state words from SplitMix64 (label '' = plain seed). */
  static fromSeed(seed: number, label = ''): Rng {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
    let state = (BigInt(seed) ^ (label === '' ? 0n : BigInt(fnv1a(label)) << 53n)) & MASK64;
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      const [next, out] = splitMix64(state);
      state = next;
      words.push(Number(out & 0xffffffffn), Number(out >> 32n));
    }
    return new Rng(words as [number, number, number, number]);
  }

  /** An independent stream for a purpose (e.g. 'records/patents'), derived from this generator's next output. */
  fork(label: string): Rng {
    const a = this.nextUint32();
    const b = this.nextUint32();
    return Rng.fromSeed(((a & 0x1fffff) * 0x100000000 + b) % Number.MAX_SAFE_INTEGER, label);
  }

  /** Next 32-bit output of xoshiro128**. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits (two outputs, as in the usual `(a>>5, b>>6)` construction). */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal by the Box–Muller transform (both variates used). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, scale): Marsaglia & Tsang (2000), ACM TOMS 26(3) 363–372; shape < 1 via the U^(1/shape) boost. */
  gamma(shape: number, scale = 1): number {
    if (!(shape > 0) || !(scale > 0)) throw new RangeError(`gamma needs shape > 0 and scale > 0, got ${shape}, ${scale}`);
    if (shape < 1) {
      let u = this.uniform();
      while (u === 0) u = this.uniform();
      return this.gamma(shape + 1, scale) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /** Poisson(mean): inversion by sequential search below mean 10, else PTRS (Hörmann 1993, Insurance: Math. & Econ. 12, 39–45). */
  poisson(mean: number): number {
    if (!(mean >= 0) || !Number.isFinite(mean)) throw new RangeError(`poisson needs a finite mean >= 0, got ${mean}`);
    if (mean === 0) return 0;
    if (mean < 10) {
      let k = 0;
      let p = Math.exp(-mean);
      let cumulative = p;
      const u = this.uniform();
      while (u > cumulative && k < 1000) {
        k += 1;
        p *= mean / k;
        cumulative += p;
      }
      return k;
    }
    const slam = Math.sqrt(mean);
    const loglam = Math.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const U = this.uniform() - 0.5;
      const V = this.uniform();
      const us = 0.5 - Math.abs(U);
      const k = Math.floor(((2 * a) / us + b) * U + mean + 0.43);
      if (us >= 0.07 && V <= vr) return k;
      if (k < 0 || (us < 0.013 && V > us)) continue;
      if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -mean + k * loglam - gammaln(k + 1)) return k;
    }
  }

  /**
   * Negative binomial of Hausman, Hall & Griliches (1984, Econometrica 52(4), 909–938), as a gamma–Poisson mixture:
   * y ~ Poisson(γ), γ ~ Gamma(shape = λ, scale = 1/δ); E y = λ/δ, Var y = (λ/δ)(1 + 1/δ).
   */
  negBinomialHHG(lambda: number, delta: number): number {
    return this.poisson(this.gamma(lambda, 1 / delta));
  }

  /** Index drawn with probability proportional to `weights[i]` (weights ≥ 0, not all 0), by inverting the cumulative sum. */
  categorical(cumulative: Float64Array | number[]): number {
    const total = cumulative[cumulative.length - 1];
    const u = this.uniform() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Running sums of weights, the input `Rng.categorical` expects. */
export function cumulativeWeights(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i];
    out[i] = sum;
  }
  return out;
}
