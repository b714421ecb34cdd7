#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the `prepare` script) so that it starts without a TypeScript loader,
// and bundled into one file, dist/cli.bundle.cjs, that starts faster still: it is compiled through V8's code cache
// (Node 20 has no module.enableCompileCache), kept beside it as dist/cli.bundle.cache and written after a run when
// missing or stale. `spillway run` has a bundle of its own, dist/cli-run.bundle.cjs (what a run reaches, a third of
// the whole: less to read, deserialise and initialise), with its own code cache; the whole CLI's bundle runs it when
// that one cannot. Before either, a run loads dist/cli-noop.bundle.cjs, the no-op record's check alone: a no-op the
// record vouches for loads nothing more. Without a bundle, when any module of dist/ in it was compiled after it (tsc, or tsc --watch,
// without the bundling step), or with SPILLWAY_NO_BUNDLE=1, the unbundled dist/cli/main.js runs.
// This file is CommonJS (bin/package.json): an ES module entry costs node its ESM loader before the first line runs.
'use strict';
const { createRequire } = module.constructor; // Module.createRequire: require('node:module') would load the ESM loader
const path = require('node:path');
let mixerMemo = null; // mixer(): the WebAssembly checksum module, instantiated at most once (here: above the first use)

const argv = process.argv.slice(2);
const run = (main) => main(argv).then((code) => { process.exitCode = code; });
if (process.env.SPILLWAY_NO_BUNDLE) importCompiled().then((compiled) => run(compiled.main));
else if (argv[0] === 'run') {
  // A no-op that its record vouches for (src/engine/noop-record.ts) loads only the record's check; any other run
  // goes on to the run's own bundle (or the whole CLI's, or dist/ unbundled)
  const noop = loadBundle('cli-noop.bundle.cjs', () => 'run');
  (noop ? noop(argv) : Promise.resolve(undefined)).then((code) => {
    if (code !== undefined) process.exitCode = code;
    else startCli(loadBundle('cli-run.bundle.cjs') || loadBundle('cli.bundle.cjs'));
  });
} else startCli(loadBundle('cli.bundle.cjs'));

function startCli(bundled) {
  if (bundled) run(bundled);
  else importCompiled().then((compiled) => run(compiled.main));
}

/** dist/cli/main.js; when it is missing (dist/ removed, or npm install skipped its build), a clear message and exit 70. */
async function importCompiled() {
  const file = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
  const url = require('node:url').pathToFileURL(file).href;
  try {
    return await import(url);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || error.url !== url) throw error;
    process.stderr.write(`spillway: the compiled CLI ${file} is missing: run \`npm run build\` in ${path.join(__dirname, '..')} (npm install runs it)\n`);
    process.exit(70);
  }
}

/**
 * The `main` of dist/<name>, compiled with the code cache when one matches; undefined when there is no such bundle.
 * `labelCache`: who the cache written after this command is said to be made by (see below), when not the command's own.
 */
function loadBundle(name, labelCache) {
  const fs = require('node:fs');
  const file = path.join(__dirname, '..', 'dist', name);
  let source, stat;
  try {
    stat = fs.statSync(file);
    // ASCII (scripts/bundle-cli.mjs sees to it) is read as latin1: the same string, without decoding 0.6 MB of UTF-8
    const bytes = fs.readFileSync(file);
    source = bytes.toString(require('node:buffer').isAscii?.(bytes) ? 'latin1' : 'utf8');
    // `npm run build` writes the bundle after tsc: a dist/ compiled again without it must not run old code. The bundle
    // lists its modules on its second line; any of them newer than the bundle (tsc alone writes them all, tsc --watch
    // or an incremental build only the changed ones), missing, or no list: dist/ runs unbundled
    const start = source.indexOf('\n') + 1;
    const line = source.slice(start, source.indexOf('\n', start));
    const mark = '// spillway-bundle-inputs ';
    if (!line.startsWith(mark)) return undefined;
    const dist = path.dirname(file) + path.sep; // the inputs are plain relative paths: no path.join (normalize) for each
    for (const input of JSON.parse(line.slice(mark.length))) if (fs.statSync(dist + input).mtimeMs > stat.mtimeMs) return undefined;
  } catch {
    return undefined;
  }
  const vm = require('node:vm');
  // The cache is V8's own format, valid for one V8 version, flag set and source. V8 checks its version and flags (and
  // rejects a cache that does not fit: it is then rewritten) but of the source only its length, so the cache is keyed
  // by the bundle's size, mtime, ctime and inode, and by the Node version and architecture (the ctime, which no one can
  // set: a bundle rewritten in place to the same length with its mtime put back, by touch -d, cp -p or an unpacker
  // that fixes mtimes, would otherwise run the old code from the cache). It holds the functions compiled by the command
  // that wrote it: one written by another command is replaced after a `run` (the call to keep fast).
  const cacheFile = `${file.slice(0, -'.cjs'.length)}.cache`;
  const id = `spillway-code-cache ${stat.size} ${stat.mtimeMs} ${stat.ctimeMs} ${stat.ino} ${process.version} ${process.arch}`;
  let cachedData;
  let madeBy;
  try {
    const { bytes: cache, mix } = readCache(fs, cacheFile);
    const newline = cache.indexOf(10);
    const header = newline > 0 ? Buffer.from(cache.buffer, cache.byteOffset, newline).toString('latin1') : '';
    if (header.startsWith(`${id} `)) {
      // V8 does not check a code cache's bytes in a release build: one flipped bit crashes node (SIGSEGV, SIGTRAP) or
      // runs altered code, and the crash would keep the damaged cache from being replaced. So the header carries a
      // checksum of the bytes after it, and a cache that does not match it (damaged, truncated) is not used.
      const [by, sum] = header.slice(id.length + 1).split(' ');
      const data = cache.subarray(newline + 1);
      // A `run` uses only a cache made by a run that did nothing: compiling over another cache carries all of its
      // functions into the one written after (see `by` below), so a no-op's cache would never get lean again.
      if (sum !== undefined && (process.argv[2] !== 'run' || by === 'run') && sum === checksum(data, mix)) {
        madeBy = by;
        cachedData = data;
      }
    }
  } catch {
    /* no cache yet */
  }
  // The bundle's import() calls are calls of __spillwayImport (scripts/bundle-cli.mjs): a real import() from here.
  let script, main;
  const mod = { exports: {} };
  try {
    script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __spillwayImport) {${source}\n})`, { filename: file, cachedData });
    script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file), (specifier, options) => import(specifier, options));
    // (a bundle cut at the end of a statement compiles and runs, and its export table names a `main` that never came:
    // reading it throws a ReferenceError)
    main = mod.exports.main;
  } catch {
    return undefined; // a damaged bundle (cut short: a SyntaxError): dist/ runs unbundled
  }
  if (typeof main !== 'function') return undefined;
  // Who made the cache: `run`, a run that ran, restored and parsed nothing (the no-op, the call to keep fast: the
  // cache then holds the functions a no-op calls and few others); `run-work`, a run that ran or restored stages, or
  // parsed the pipeline file (its cache also holds the executor's or the parser's functions, which every later no-op
  // would deserialise: measured 4-5 ms of CPU for the executor's; 209 KB of cache against 165 KB for the parser's);
  // `other`.
  const command = process.argv[2] === 'run' ? 'run' : 'other';
  const rank = { other: 0, 'run-work': 1, run: 2 };
  const stale = cachedData === undefined || script.cachedDataRejected;
  if (stale || (command === 'run' && madeBy !== 'run')) {
    // After the command, so that the functions it compiled are in the cache too. Best effort: a read-only install
    // just compiles every time.
    process.once('beforeExit', () => {
      const by = labelCache?.() ?? (command === 'run' ? (mod.exports.runOutcome?.didNothing === true ? 'run' : 'run-work') : 'other');
      if (!stale && rank[by] <= (rank[madeBy] ?? -1)) return;
      try {
        const tmp = `${cacheFile}.tmp-${process.pid}`;
        const data = script.createCachedData();
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${id} ${by} ${checksum(data, mixerFor(data.length))}\n`), data]));
        fs.renameSync(tmp, cacheFile);
      } catch {
        /* not writable */
      }
    });
  }
  return main;
}

/**
 * The checksum's inner loop in WebAssembly (about ten times faster than the same loop in JavaScript on a first call,
 * which is all a CLI start gets): (start, end, h1, h2) → h1 | h2 << 32 after, for each 32-bit little-endian word from
 * byte `start` to `end`, h1 = (h1 ^ word) * 2654435761 and h2 = (h2 ^ word) * 1597334677 (mod 2^32), as `checksum`
 * below computes it without WebAssembly; exports its memory `m`. Hand-assembled, 116 bytes:
 *   (func (param $i i32) (param $n i32) (param $h1 i32) (param $h2 i32) (result i64) (local $c i32)
 *     (block (loop (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
 *       (local.set $c (i32.load (local.get $i)))
 *       (local.set $h1 (i32.mul (i32.xor (local.get $h1) (local.get $c)) (i32.const 2654435761)))
 *       (local.set $h2 (i32.mul (i32.xor (local.get $h2) (local.get $c)) (i32.const 1597334677)))
 *       (local.set $i (i32.add (local.get $i) (i32.const 4))) (br 0)))
 *     (i64.or (i64.extend_i32_u (local.get $h1)) (i64.shl (i64.extend_i32_u (local.get $h2)) (i64.const 32))))
 * Undefined without WebAssembly (node --jitless): the JavaScript loop then runs.
 */
function mixer() {
  if (mixerMemo !== null) return mixerMemo;
  mixerMemo = undefined;
  if (typeof WebAssembly !== 'object' || new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) return undefined;
  try {
    const wasm = 'AGFzbQEAAAABCQFgBH9/f38BfgMCAQAFAwEAAQcLAgFtAgADbWl4AAAKSQFHAQF/AkADQCAAIAFPDQEgACgAACEEIAIgBHNBsfPd8XlsIQIgAyAEc0GVydX5BWwhAyAAQQRqIQAMAAsLIAKtIAOtQiCGhAs=';
    return (mixerMemo = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(wasm, 'base64'))).exports);
  } catch {
    return undefined;
  }
}
/**
 * The mixer for `size` bytes: none below 64 KiB, where the JavaScript loop (about 0.5 ms for 28 KB on a cold start)
 * costs less than compiling and instantiating the module (1-2 ms measured here), as in src/engine/hash.ts.
 */
function mixerFor(size) {
  return size >= 65536 ? mixer() : undefined;
}

/** `mix.m` grown to hold `size` bytes; its bytes. */
function memoryFor(mix, size) {
  const pages = Math.ceil(size / 65536) - mix.m.buffer.byteLength / 65536;
  if (pages > 0) mix.m.grow(pages);
  return new Uint8Array(mix.m.buffer, 0, size);
}

/**
 * The cache file's bytes and the mixer for their size, read straight into the checksum's WebAssembly memory when
 * there is one (no copy).
 */
function readCache(fs, file) {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const mix = mixerFor(size);
    const bytes = mix === undefined ? Buffer.allocUnsafe(size) : memoryFor(mix, size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, bytes, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return { bytes: bytes.subarray(0, done), mix };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A 64-bit checksum of `bytes` (hex), taken on 32-bit words: two multiplicative hashes, each step a bijection of the
 * state, so that a change within one word always changes it (the seal of the engine's caches, src/engine/hash.ts).
 * The words run through `mix` (WebAssembly, above) when there is one, in place when `bytes` are in its memory.
 */
function checksum(bytes, mix) {
  const whole = bytes.length & ~3;
  let h1 = 0xdeadbeef ^ bytes.length;
  let h2 = 0x41c6ce57 ^ bytes.length;
  if (mix !== undefined) {
    let at = bytes.byteOffset;
    if (bytes.buffer !== mix.m.buffer) {
      memoryFor(mix, whole).set(bytes.subarray(0, whole));
      at = 0;
    }
    const both = mix.mix(at, at + whole, h1, h2);
    h1 = Number(BigInt.asIntN(32, both));
    h2 = Number(BigInt.asIntN(32, both >> 32n));
  } else {
    const words = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + whole));
    for (let i = 0; i < words.length; i++) {
      const c = words[i];
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
  }
  for (let i = whole; i < bytes.length; i++) {
    const c = bytes[i];
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
