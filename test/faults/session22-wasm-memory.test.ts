// Session 22 fault pass: a kernel space whose WebAssembly memory cannot be had falls back to the JavaScript kernels
// (the same bits); where the address space is short (ulimit -v: every WebAssembly memory reserves several GiB) each
// refused memory first costs V8's last-resort garbage collections, ~60-150 ms, several times per fit. Measured: three
// fits of a 60,000-row panel under ulimit -v 8000000 took 2.3 s CPU against main's 1.2 s. A refusal must be remembered.
// (Its own file: the refusal is remembered for the rest of the process.)
import { afterEach, describe, expect, it } from 'vitest';
import { JS_KERNELS, KernelSpace } from '../../src/stats/count/kernels.js';

type MemoryConstructor = new (descriptor: { initial: number }) => object;
const api = (globalThis as unknown as { WebAssembly: { Memory: MemoryConstructor } }).WebAssembly;
const original = api.Memory;
afterEach(() => {
  api.Memory = original;
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
