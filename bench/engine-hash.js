#!/usr/bin/env node
// Hashing throughput on a 1 GB file: the algorithms Node ships (OpenSSL), read the way the engine reads (4 MB chunks
// through one buffer), and the engine's hashFile with the stat cache cold (reads everything) and warm (one stat).
// Median of BENCH_RUNS (default 3) runs each; the file is in the page cache after the first read, so this measures
// hashing, not the disk.
import { createHash, getHashes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StatCache } from '../dist/engine/hash.js';
import { loadAverage, median } from './_engine-util.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZE = Number(process.env.BENCH_HASH_BYTES ?? 2 ** 30);
const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-hash-'));
const file = join(dir, 'big.bin');

function writeBigFile() {
  const block = randomBytes(16 << 20);
  const fd = openSync(file, 'w');
  for (let written = 0; written < SIZE; written += block.length) writeSync(fd, block, 0, Math.min(block.length, SIZE - written));
  closeSync(fd);
  const past = new Date(Date.now() - 60_000); // outside the racy window, like any file not just written
  utimesSync(file, past, past);
}

function hashWith(algorithm) {
  const chunk = 4 << 20;
  const buffer = Buffer.allocUnsafe(chunk);
  const hash = createHash(algorithm);
  const fd = openSync(file, 'r');
  for (;;) {
    const n = readSync(fd, buffer, 0, chunk, null);
    if (n === 0) break;
    hash.update(n === chunk ? buffer : buffer.subarray(0, n));
  }
  closeSync(fd);
  return hash.digest('hex');
}

function time(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

try {
  writeBigFile();
  hashWith('md5'); // warm the page cache
  const gb = SIZE / 2 ** 30;
  console.log(`hashing a ${gb.toFixed(2)} GiB file, median of ${RUNS} runs (load average ${loadAverage()}):`);
  const available = new Set(getHashes());
  const results = [];
  for (const algorithm of ['sha256', 'sha1', 'md5', 'sha512', 'blake2b512', 'sha3-256']) {
    if (!available.has(algorithm)) continue;
    const ms = median(Array.from({ length: RUNS }, () => time(() => hashWith(algorithm))));
    results.push({ algorithm, ms });
    console.log(`  ${algorithm.padEnd(11)} ${(ms / 1000).toFixed(2).padStart(6)} s   ${((SIZE / 2 ** 20) / (ms / 1000)).toFixed(0).padStart(5)} MiB/s`);
  }
  const sha256 = results.find((r) => r.algorithm === 'sha256').ms;
  const fastest = results.reduce((a, b) => (a.ms < b.ms ? a : b));
  console.log(`  fastest: ${fastest.algorithm}, ${(sha256 / fastest.ms).toFixed(2)}× sha256's speed`);

  const cold = median(
    Array.from({ length: RUNS }, () => {
      const cache = new StatCache(dir, undefined); // no persisted cache: every call reads the file
      return time(() => cache.hashFile(file));
    }),
  );
  const warmCache = new StatCache(dir, undefined);
  warmCache.hashFile(file);
  const warmTimes = Array.from({ length: 101 }, () => time(() => warmCache.hashFile(file)));
  console.log(`  engine hashFile, stat cache cold: ${(cold / 1000).toFixed(2)} s; warm: ${(median(warmTimes) * 1000).toFixed(1)} µs (one stat; median of 101)`);
  console.log(`  stat-cache speed-up on an unchanged ${gb.toFixed(2)} GiB dep: ${(cold / median(warmTimes)).toExponential(1)}×`);
  void statSync;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
