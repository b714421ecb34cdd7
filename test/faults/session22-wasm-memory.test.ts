// Session 22 fault pass: a kernel space whose WebAssembly memory cannot be had falls back to the JavaScript kernels
// (the same bits); where the address space is short (ulimit -v: every WebAssembly memory reserves several GiB) each
// refused memory first costs V8's last-resort garbage collections, ~60-150 ms, several times per fit. Measured: three
// fits of a 60,000-row panel under ulimit -v 8000000 took 2.3 s CPU against main's 1.2 s. A refusal must be remembered.
// (Its own file: the refusal is remembered for the rest of the process.)
import { afterEach, describe, expect, it } from 'vitest';
import { JS_KERNELS, KernelSpace } from '../../src/stats/count/kernels.js';
import { kernelSpace, splitLinearIndex, useKernels, type SplitDesign } from '../../src/stats/count/objective.js';

type MemoryConstructor = new (descriptor: { initial: number }) => object;
const api = (globalThis as unknown as { WebAssembly: { Memory: MemoryConstructor } }).WebAssembly;
const original = api.Memory;
afterEach(() => {
  api.Memory = original;
  useKernels('wasm');
});

/** WebAssembly.Memory refusing memories of more than `limit` pages, counting the tries */
function refusing(limit: number): { tries: number[] } {
  const log = { tries: [] as number[] };
  api.Memory = function (descriptor: { initial: number }) {
    log.tries.push(descriptor.initial);
    if (descriptor.initial > limit) throw new RangeError('WebAssembly.Memory(): could not allocate memory');
    return new original(descriptor);
  } as unknown as MemoryConstructor;
  return log;
}

describe('kernel spaces: a refused WebAssembly memory is remembered', () => {
  it('a large one: larger ones are not tried again, smaller ones still are', () => {
    const log = refusing(1000);
    // 1,500,000 rows, no dense column: 6 work arrays, 72 MB, ~1100 pages
    const big = { n: 1_500_000, D: 0, p: 2, G: 0, single: false };
    expect(KernelSpace.create(big).kernels).toBe(JS_KERNELS);
    expect(KernelSpace.create(big).kernels).toBe(JS_KERNELS);
    expect(log.tries).toHaveLength(1);
    expect(KernelSpace.create({ n: 1000, D: 2, p: 3, G: 4, single: true }).kernels).not.toBe(JS_KERNELS);
    expect(log.tries).toHaveLength(2);
  });

  it('a small one: no more tries at all (the address space is short)', () => {
    const log = refusing(0);
    const small = { n: 1000, D: 2, p: 3, G: 4, single: true };
    for (let k = 0; k < 5; k++) expect(KernelSpace.create(small).kernels).toBe(JS_KERNELS);
    expect(log.tries).toHaveLength(1);
  });
});

describe('kernel spaces: the JavaScript kernels read the design\'s own dense columns', () => {
  // A design falls back to JavaScript when its space would pass 2 GiB: copying its dense columns then (as into a
  // WebAssembly memory) would hold them twice until the old ones are collected, GBs more at the peak, for nothing.
  for (const why of ['useKernels js', 'memory refused'] as const) {
    it(why, () => {
      if (why === 'useKernels js') useKernels('js');
      else refusing(0);
      const x0 = Float64Array.of(1, 2, 3, 4, 5);
      const x1 = Float64Array.of(0.5, -1, 2, 0, 1);
      const design: SplitDesign = {
        n: 5,
        p: 3,
        denseColumns: Int32Array.of(0, 1),
        dense: [x0, x1],
        sparse: { rowStart: Int32Array.of(0, 1, 1, 2, 2, 3), colIndex: Int32Array.of(2, 2, 2), values: Float64Array.of(1, 1, 1) },
      };
      const space = kernelSpace(design, 3);
      expect(space.kernels).toBe(JS_KERNELS);
      expect(design.dense[0]).toBe(x0);
      expect(design.dense[1]).toBe(x1);
      expect(space.dense[0]).toBe(x0);
      // and the linear index reads them: 1·x0 + 2·x1 + 3·d
      const eta = new Float64Array(5);
      expect(splitLinearIndex(design, new Float64Array(5), Float64Array.of(1, 2, 3), eta)).toBe(true);
      expect(Array.from(eta)).toEqual([5, 0, 10, 4, 10]);
    });
  }
});
