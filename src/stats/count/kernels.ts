// The inner loops of the count models' derivatives, twice: in WebAssembly with SIMD (kernels.wat, about five times
// faster than V8's code for these loops, and no bounds checks) and in JavaScript, used where WebAssembly is unavailable
// (node --jitless) or its memory cannot be had. The two compute the same sums in the same order, bit for bit: sums over
// rows run in two lanes (even rows, odd rows; a last odd row joins the even lane; the result is even + odd), so a fit
// gives the same numbers, and the same artifact hashes, whichever runs. objective.ts builds X'WX, x̄_g and Xβ from them.
import { KERNELS_WASM } from './kernels-wasm.js';

/** The loops; every array a kernel gets is one of its space's arrays (or a subarray of one). */
export interface Kernels {
  /** Σ a·b over n entries */
  dot(a: Float64Array, b: Float64Array, n: number): number;
  /** out[m] = Σ t·x_m over n entries, m = 0..3 */
  dot4(t: Float64Array, x0: Float64Array, x1: Float64Array, x2: Float64Array, x3: Float64Array, n: number, out: Float64Array): void;
  /** scratch = w2·x (element-wise), returns Σ w1·x */
  weightColumn(w1: Float64Array, w2: Float64Array, x: Float64Array, scratch: Float64Array, n: number): number;
  /** y += b·x */
  axpy(b: number, x: Float64Array, y: Float64Array, n: number): void;
  /** column[at[r]] += t[r]·value[r] where at[r] ≥ 0, rows in order */
  scatter(t: Float64Array, at: Int32Array, value: Float64Array, column: Float64Array, n: number): void;
  /** scores[g] = Σ_{r in g} share·x, the G groups' rows groupStart[g] .. groupStart[g+1]-1 */
  groupSums(share: Float64Array, x: Float64Array, groupStart: Int32Array, scores: Float64Array, G: number): void;
  /** scores[at[r]·G + g] += share[r]·value[r] where at[r] ≥ 0 */
  singleGroupSums(at: Int32Array, value: Float64Array, share: Float64Array, groupStart: Int32Array, scores: Float64Array, G: number): void;
  /** eta[r] += value[r]·beta[at[r]] where at[r] ≥ 0; false when some eta exceeds max (or is NaN) */
  addSingleIndex(at: Int32Array, value: Float64Array, beta: Float64Array, eta: Float64Array, n: number, max: number): boolean;
}

// The JavaScript twins. Each is a small function with one loop (see the note on kernels in objective.ts).

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let even = 0;
  let odd = 0;
  const pairs = n & ~1;
  for (let r = 0; r < pairs; r += 2) {
    even += a[r] * b[r];
    odd += a[r + 1] * b[r + 1];
  }
  if (n & 1) even += a[pairs] * b[pairs];
  return even + odd;
}

function dot4(t: Float64Array, x0: Float64Array, x1: Float64Array, x2: Float64Array, x3: Float64Array, n: number, out: Float64Array): void {
  let e0 = 0;
  let o0 = 0;
  let e1 = 0;
  let o1 = 0;
  let e2 = 0;
  let o2 = 0;
  let e3 = 0;
  let o3 = 0;
  const pairs = n & ~1;
  for (let r = 0; r < pairs; r += 2) {
    const u = t[r];
    const v = t[r + 1];
    e0 += u * x0[r];
    o0 += v * x0[r + 1];
    e1 += u * x1[r];
    o1 += v * x1[r + 1];
    e2 += u * x2[r];
    o2 += v * x2[r + 1];
    e3 += u * x3[r];
    o3 += v * x3[r + 1];
  }
  if (n & 1) {
    const u = t[pairs];
    e0 += u * x0[pairs];
    e1 += u * x1[pairs];
    e2 += u * x2[pairs];
    e3 += u * x3[pairs];
  }
  out[0] = e0 + o0;
  out[1] = e1 + o1;
  out[2] = e2 + o2;
  out[3] = e3 + o3;
}

function weightColumn(w1: Float64Array, w2: Float64Array, x: Float64Array, scratch: Float64Array, n: number): number {
  let even = 0;
  let odd = 0;
  const pairs = n & ~1;
  for (let r = 0; r < pairs; r += 2) {
    const u = x[r];
    const v = x[r + 1];
    even += w1[r] * u;
    odd += w1[r + 1] * v;
    scratch[r] = w2[r] * u;
    scratch[r + 1] = w2[r + 1] * v;
  }
  if (n & 1) {
    const u = x[pairs];
    even += w1[pairs] * u;
    scratch[pairs] = w2[pairs] * u;
  }
  return even + odd;
}

function axpy(b: number, x: Float64Array, y: Float64Array, n: number): void {
  for (let r = 0; r < n; r++) y[r] += b * x[r];
}

function scatter(t: Float64Array, at: Int32Array, value: Float64Array, column: Float64Array, n: number): void {
  for (let r = 0; r < n; r++) {
    const c = at[r];
    if (c >= 0) column[c] += t[r] * value[r];
  }
}

function groupSums(share: Float64Array, x: Float64Array, groupStart: Int32Array, scores: Float64Array, G: number): void {
  for (let g = 0; g < G; g++) {
    let s = 0;
    for (let r = groupStart[g], end = groupStart[g + 1]; r < end; r++) s += share[r] * x[r];
    scores[g] = s;
  }
}

function singleGroupSums(at: Int32Array, value: Float64Array, share: Float64Array, groupStart: Int32Array, scores: Float64Array, G: number): void {
  for (let g = 0; g < G; g++) {
    for (let r = groupStart[g], end = groupStart[g + 1]; r < end; r++) {
      const c = at[r];
      if (c >= 0) scores[c * G + g] += share[r] * value[r];
    }
  }
}

function addSingleIndex(at: Int32Array, value: Float64Array, beta: Float64Array, eta: Float64Array, n: number, max: number): boolean {
  let ok = true;
  for (let r = 0; r < n; r++) {
    let s = eta[r];
    const c = at[r];
    if (c >= 0) s += value[r] * beta[c];
    eta[r] = s;
    if (!(s <= max)) ok = false;
  }
  return ok;
}

export const JS_KERNELS: Kernels = { dot, dot4, weightColumn, axpy, scatter, groupSums, singleGroupSums, addSingleIndex };

interface WasmExports {
  dot(a: number, b: number, n: number): number;
  dot4(t: number, x0: number, x1: number, x2: number, x3: number, n: number, out: number): void;
  weightColumn(w1: number, w2: number, x: number, scratch: number, n: number): number;
  axpy(b: number, x: number, y: number, n: number): void;
  scatter(t: number, at: number, value: number, column: number, n: number): void;
  groupSums(share: number, x: number, groupStart: number, scores: number, G: number): void;
  singleGroupSums(at: number, value: number, share: number, groupStart: number, scores: number, G: number): void;
  addSingleIndex(at: number, value: number, beta: number, eta: number, n: number, max: number): number;
}

/** The part of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
}

/** WebAssembly memory is little-endian; the typed arrays viewing it use the machine's order */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

let compiled: { wasm: WasmApi; module: object } | null | undefined;

/**
 * The smallest memory (in pages) that could not be had, so that larger ones are not tried again; 0 once a small one
 * (up to SMALL_PAGES) could not: the address space itself is short (ulimit -v: each WebAssembly memory reserves
 * several GiB), and every further try would cost V8's last-resort garbage collections before failing again.
 */
let refusedPages = Infinity;
const SMALL_PAGES = 1024;

/** The compiled kernels module, or null where WebAssembly (with SIMD) is unavailable, e.g. under node --jitless. */
function kernelsModule(): { wasm: WasmApi; module: object } | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (typeof wasm === 'object' && LITTLE_ENDIAN) {
    try {
      compiled = { wasm, module: new wasm.Module(Buffer.from(KERNELS_WASM, 'base64')) };
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** The kernels over one WebAssembly memory: arrays are passed as their byte offsets into it. */
function wasmKernels(exports: WasmExports): Kernels {
  return {
    dot: (a, b, n) => exports.dot(a.byteOffset, b.byteOffset, n),
    dot4: (t, x0, x1, x2, x3, n, out) => exports.dot4(t.byteOffset, x0.byteOffset, x1.byteOffset, x2.byteOffset, x3.byteOffset, n, out.byteOffset),
    weightColumn: (w1, w2, x, scratch, n) => exports.weightColumn(w1.byteOffset, w2.byteOffset, x.byteOffset, scratch.byteOffset, n),
    axpy: (b, x, y, n) => exports.axpy(b, x.byteOffset, y.byteOffset, n),
    scatter: (t, at, value, column, n) => exports.scatter(t.byteOffset, at.byteOffset, value.byteOffset, column.byteOffset, n),
    groupSums: (share, x, groupStart, scores, G) => exports.groupSums(share.byteOffset, x.byteOffset, groupStart.byteOffset, scores.byteOffset, G),
    singleGroupSums: (at, value, share, groupStart, scores, G) =>
      exports.singleGroupSums(at.byteOffset, value.byteOffset, share.byteOffset, groupStart.byteOffset, scores.byteOffset, G),
    addSingleIndex: (at, value, beta, eta, n, max) => exports.addSingleIndex(at.byteOffset, value.byteOffset, beta.byteOffset, eta.byteOffset, n, max) === 1,
  };
}

/** Sizes of a kernel space: n rows, D dense columns, p columns in all, up to G groups. */
export interface SpaceShape {
  n: number;
  D: number;
  p: number;
  G: number;
  /** whether the space holds a single-indicator column per row (at, value) */
  single: boolean;
}

/**
 * Where the kernels read and write: the dense columns, the per-row indicator (at, value), and the work arrays, all in
 * one WebAssembly memory (or plain arrays for the JavaScript kernels). Callers copy their weights in (w1, w2, share,
 * eta) and results out; the memory is never grown, so no array of a space is ever detached.
 */
export class KernelSpace {
  readonly dense: Float64Array[];
  readonly at: Int32Array;
  readonly value: Float64Array;
  readonly w1: Float64Array;
  readonly w2: Float64Array;
  readonly scratch: Float64Array;
  readonly share: Float64Array;
  readonly eta: Float64Array;
  /** p·G group sums, G group weights or products, G+1 group starts */
  readonly scores: Float64Array;
  readonly groupWeight: Float64Array;
  readonly groupStart: Int32Array;
  /** p coefficients; max(D, 1)·p dense × indicator sums (addWeightedSums uses one block, dense columns or not); dot4's 4 */
  readonly beta: Float64Array;
  readonly cross: Float64Array;
  readonly four: Float64Array;

  private constructor(
    readonly kernels: Kernels,
    readonly shape: SpaceShape,
    allocate: { f64: (length: number) => Float64Array; i32: (length: number) => Int32Array },
    dense?: Float64Array[],
  ) {
    const { n, D, p, G, single } = shape;
    this.dense = dense ? dense.slice(0, D) : Array.from({ length: D }, () => allocate.f64(n));
    this.at = allocate.i32(single ? n : 0);
    this.value = allocate.f64(single ? n : 0);
    this.w1 = allocate.f64(n);
    this.w2 = allocate.f64(n);
    this.scratch = allocate.f64(n);
    this.share = allocate.f64(n);
    this.eta = allocate.f64(n);
    this.scores = allocate.f64(p * G);
    this.groupWeight = allocate.f64(G);
    this.groupStart = allocate.i32(G + 1);
    this.beta = allocate.f64(p);
    this.cross = allocate.f64(Math.max(D, 1) * p);
    this.four = allocate.f64(4);
  }

  /**
   * A space in WebAssembly memory, or with the JavaScript kernels when that is unavailable (or `useWasm` is false).
   * `dense` (D columns of n values): the JavaScript space reads these arrays themselves rather than copies (a design
   * falls back when its space would pass 2 GiB, and a copy would hold its columns twice); a WebAssembly space has its
   * own, which the caller fills.
   */
  static create(shape: SpaceShape, useWasm = true, dense?: Float64Array[]): KernelSpace {
    const compiledKernels = useWasm ? kernelsModule() : null;
    if (compiledKernels !== null) {
      const { wasm, module } = compiledKernels;
      const { n, D, p, G } = shape;
      // every array starts on a 16-byte boundary; + 1 page of slack for the rounding; at most 2 GiB, so that a byte
      // offset is a non-negative i32
      const doubles = (D + 6) * (n + 2) + p * G + G + 2 * p + Math.max(D, 1) * p + 16;
      const ints = n + G + 8;
      const bytes = 8 * doubles + 4 * ints + 16 * (D + 16);
      const pages = Math.ceil(bytes / 65536) + 1;
      if (pages <= 32768 && pages < refusedPages) {
        try {
          const memory = new wasm.Memory({ initial: pages });
          const instance = new wasm.Instance(module, { env: { memory } });
          let at = 0;
          const take = (byteLength: number): number => {
            const start = at;
            at = (at + byteLength + 15) & ~15;
            return start;
          };
          return new KernelSpace(wasmKernels(instance.exports as unknown as WasmExports), shape, {
            f64: (length) => new Float64Array(memory.buffer, take(8 * length), length),
            i32: (length) => new Int32Array(memory.buffer, take(4 * length), length),
          });
        } catch {
          // no memory of that size (RangeError): the JavaScript kernels below
          refusedPages = pages <= SMALL_PAGES ? 0 : pages;
        }
      }
    }
    return new KernelSpace(JS_KERNELS, shape, { f64: (length) => new Float64Array(length), i32: (length) => new Int32Array(length) }, dense);
  }
}
