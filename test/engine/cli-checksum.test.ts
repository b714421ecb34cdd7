// The code cache's checksum (bin/spillway.js) runs its inner loop in WebAssembly, or in JavaScript where there is no
// WebAssembly (node --jitless): both must give the same seal for the same bytes, at any length and offset, in place
// in the WebAssembly memory or copied there; and one changed bit must change it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Rng } from '../../src/stats/random.js';
import { repoRoot } from './helpers.js';

type Mix = { m: WebAssembly.Memory; mix: (...a: number[]) => bigint };
/** mixer, memoryFor and checksum, as bin/spillway.js defines them (it exports nothing: it is the CLI's entry) */
function binFunctions(): { mixer: () => Mix | undefined; memoryFor: (mix: Mix, size: number) => Uint8Array; checksum: (bytes: Uint8Array, mix?: Mix) => string } {
  const source = readFileSync(join(repoRoot, 'bin/spillway.js'), 'utf8');
  const pick = (name: string) => {
    const start = source.indexOf(`\nfunction ${name}(`);
    expect(start).toBeGreaterThan(0);
    return source.slice(start, source.indexOf('\n}\n', start) + 3);
  };
  // (mixer memoizes its module in a top-level `mixerMemo`, declared above the CLI's first call)
  return new Function(`let mixerMemo = null;${pick('mixer')}${pick('memoryFor')}${pick('checksum')}return { mixer, memoryFor, checksum };`)();
}

it('the WebAssembly and the JavaScript checksum agree, and one flipped bit changes both', () => {
  const { mixer, memoryFor, checksum } = binFunctions();
  const mix = mixer();
  expect(mix).toBeDefined();
  const g = Rng.fromSeed(11);
  for (const length of [0, 1, 3, 4, 5, 8, 1023, 65536, 65537, 300_001]) {
    const offset = Math.floor(g.uniform() * 8);
    const bytes = new Uint8Array(length + offset).subarray(offset);
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(g.uniform() * 256);
    const js = checksum(bytes, undefined);
    expect(js).toMatch(/^[0-9a-f]{16}$/);
    expect(checksum(bytes, mix)).toBe(js);
    const inPlace = memoryFor(mix as Mix, length + 16).subarray(offset + 1, offset + 1 + length);
    inPlace.set(bytes);
    expect(checksum(inPlace, mix)).toBe(js);
    if (length > 0) {
      const at = Math.floor(g.uniform() * length);
      bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(g.uniform() * 8));
      expect(checksum(bytes, mix)).not.toBe(js);
      expect(checksum(bytes, undefined)).toBe(checksum(bytes, mix));
    }
  }
});

it('the engine seals its caches with the same WebAssembly module, giving the JavaScript loop’s checksum at any length and offset', async () => {
  const { CHECKSUM_WASM, checksumBytes, checksumBytesScalar } = await import('../../src/engine/hash.js');
  const source = readFileSync(join(repoRoot, 'bin/spillway.js'), 'utf8');
  expect(source).toContain(`'${CHECKSUM_WASM}'`);
  const { checksum } = binFunctions();
  const g = Rng.fromSeed(12);
  // around the size where the WebAssembly path starts, and across its memory pages (64 KiB)
  for (const length of [0, 3, 4095, 4096, 4097, 4099, 65535, 65536, 65541, 200_003]) {
    const offset = Math.floor(g.uniform() * 8);
    const bytes = new Uint8Array(length + offset).subarray(offset);
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(g.uniform() * 256);
    const scalar = checksumBytesScalar(bytes);
    expect(checksumBytes(bytes)).toBe(scalar);
    // the code cache's seal and the engine's are one function
    expect(checksum(bytes, undefined)).toBe(scalar);
    if (length > 0) {
      const at = Math.floor(g.uniform() * length);
      bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(g.uniform() * 8));
      expect(checksumBytes(bytes)).not.toBe(scalar);
      expect(checksumBytes(bytes)).toBe(checksumBytesScalar(bytes));
    }
  }
  // shrinking after a large input leaves no stale bytes in the module's memory that a smaller input could read
  const small = new Uint8Array(5000).fill(7);
  expect(checksumBytes(small)).toBe(checksumBytesScalar(small));
});
