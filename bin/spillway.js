#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the `prepare` script) so that it starts without a TypeScript loader,
// and bundled into one file, dist/cli.bundle.cjs, that starts faster still: it is compiled through V8's code cache
// (Node 20 has no module.enableCompileCache), kept beside it as dist/cli.bundle.cache and written after a run when
// missing or stale. Without the bundle, when any module of dist/ in it was compiled after it (tsc, or tsc --watch,
// without the bundling step), or with
// SPILLWAY_NO_BUNDLE=1, the unbundled dist/cli/main.js runs.
// This file is CommonJS (bin/package.json): an ES module entry costs node its ESM loader before the first line runs.
'use strict';
const { createRequire } = module.constructor; // Module.createRequire: require('node:module') would load the ESM loader
const path = require('node:path');

const run = (main) => main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
const bundled = process.env.SPILLWAY_NO_BUNDLE ? undefined : loadBundle();
if (bundled) run(bundled);
else importCompiled().then((compiled) => run(compiled.main));

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

/** The bundle's `main`, compiled with the code cache when one matches; undefined when there is no bundle. */
function loadBundle() {
  const fs = require('node:fs');
  const file = path.join(__dirname, '..', 'dist', 'cli.bundle.cjs');
  let source, stat;
  try {
    stat = fs.statSync(file);
    source = fs.readFileSync(file, 'utf8');
    // `npm run build` writes the bundle after tsc: a dist/ compiled again without it must not run old code. The bundle
    // lists its modules on its second line; any of them newer than the bundle (tsc alone writes them all, tsc --watch
    // or an incremental build only the changed ones), missing, or no list: dist/ runs unbundled
    const start = source.indexOf('\n') + 1;
    const line = source.slice(start, source.indexOf('\n', start));
    const mark = '// spillway-bundle-inputs ';
    if (!line.startsWith(mark)) return undefined;
    const dist = path.dirname(file);
    for (const input of JSON.parse(line.slice(mark.length))) if (fs.statSync(path.join(dist, input)).mtimeMs > stat.mtimeMs) return undefined;
  } catch {
    return undefined;
  }
  const vm = require('node:vm');
  // The cache is V8's own format, valid for one V8 version, flag set and source. V8 checks its version and flags (and
  // rejects a cache that does not fit: it is then rewritten) but of the source only its length, so the cache is keyed
  // by the bundle's size, mtime and inode, and by the Node version and architecture. It holds the functions compiled
  // by the command that wrote it: one written by another command is replaced after a `run` (the call to keep fast).
  const cacheFile = `${file.slice(0, -'.cjs'.length)}.cache`;
  const id = `spillway-code-cache ${stat.size} ${stat.mtimeMs} ${stat.ino} ${process.version} ${process.arch}`;
  const command = process.argv[2] === 'run' ? 'run' : 'other';
  let cachedData;
  let madeBy;
  try {
    const cache = fs.readFileSync(cacheFile);
    const newline = cache.indexOf(10);
    const header = newline > 0 ? cache.toString('latin1', 0, newline) : '';
    if (header.startsWith(`${id} `)) {
      // V8 does not check a code cache's bytes in a release build: one flipped bit crashes node (SIGSEGV, SIGTRAP) or
      // runs altered code, and the crash would keep the damaged cache from being replaced. So the header carries a
      // checksum of the bytes after it, and a cache that does not match it (damaged, truncated) is not used.
      const [by, sum] = header.slice(id.length + 1).split(' ');
      const data = cache.subarray(newline + 1);
      if (sum !== undefined && sum === checksum(data)) {
        madeBy = by;
        cachedData = data;
      }
    }
  } catch {
    /* no cache yet */
  }
  // The bundle's import() calls are calls of __spillwayImport (scripts/bundle-cli.mjs): a real import() from here.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __spillwayImport) {${source}\n})`, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file), (specifier, options) => import(specifier, options));
  if (cachedData === undefined || script.cachedDataRejected || (command === 'run' && madeBy !== 'run')) {
    // After the command, so that the functions it compiled are in the cache too. Best effort: a read-only install
    // just compiles every time.
    process.once('beforeExit', () => {
      try {
        const tmp = `${cacheFile}.tmp-${process.pid}`;
        const data = script.createCachedData();
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${id} ${command} ${checksum(data)}\n`), data]));
        fs.renameSync(tmp, cacheFile);
      } catch {
        /* not writable */
      }
    });
  }
  return mod.exports.main;
}

/**
 * A 64-bit checksum of `bytes` (hex), taken on 32-bit words: two multiplicative hashes, each step a bijection of the
 * state, so that a change within one word always changes it (the seal of the engine's caches, src/engine/hash.ts).
 */
function checksum(bytes) {
  const words = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~3)));
  let h1 = 0xdeadbeef ^ bytes.length;
  let h2 = 0x41c6ce57 ^ bytes.length;
  for (let i = 0; i < words.length; i++) {
    const c = words[i];
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  for (let i = words.length * 4; i < bytes.length; i++) {
    const c = bytes[i];
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
