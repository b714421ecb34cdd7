#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the `prepare` script) so that it starts without a TypeScript loader,
// and bundled into one file, dist/cli.bundle.cjs, that starts faster still: it is compiled through V8's code cache
// (Node 20 has no module.enableCompileCache), kept beside it as dist/cli.bundle.cache and written after a run when
// missing or stale. Without the bundle, when dist/ was compiled after it (tsc without the bundling step), or with
// SPILLWAY_NO_BUNDLE=1, the unbundled dist/cli/main.js runs.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const run = (main) => main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
const bundled = process.env.SPILLWAY_NO_BUNDLE ? undefined : loadBundle();
if (bundled) await run(bundled);
else await run((await import('../dist/cli/main.js')).main);

/** The bundle's `main`, compiled with the code cache when one matches; undefined when there is no bundle. */
function loadBundle() {
  const require = createRequire(import.meta.url);
  const fs = require('node:fs');
  const file = fileURLToPath(new URL('../dist/cli.bundle.cjs', import.meta.url));
  let source, stat;
  try {
    stat = fs.statSync(file);
    // `npm run build` writes the bundle after tsc: a dist/ compiled again without it (tsc alone) must not run old code
    if (fs.statSync(new URL('../dist/cli/main.js', import.meta.url)).mtimeMs > stat.mtimeMs) return undefined;
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const vm = require('node:vm');
  const path = require('node:path');
  // The cache is V8's own format, valid for one V8 version, flag set and source. V8 checks its version and flags (and
  // rejects a cache that does not fit: it is then rewritten) but of the source only its length, so the cache is keyed
  // by the bundle's size, mtime and inode, and by the Node version and architecture.
  const cacheFile = `${file.slice(0, -'.cjs'.length)}.cache`;
  const key = Buffer.from(`spillway-code-cache ${stat.size} ${stat.mtimeMs} ${stat.ino} ${process.version} ${process.arch}\n`);
  let cachedData;
  try {
    const cache = fs.readFileSync(cacheFile);
    if (cache.length > key.length && cache.subarray(0, key.length).equals(key)) cachedData = cache.subarray(key.length);
  } catch {
    /* no cache yet */
  }
  // The bundle's import() calls are calls of __spillwayImport (scripts/bundle-cli.mjs): a real import() from here.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __spillwayImport) {${source}\n})`, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file), (specifier, options) => import(specifier, options));
  if (cachedData === undefined || script.cachedDataRejected) {
    // After the command, so that the functions it compiled are in the cache too. Best effort: a read-only install
    // just compiles every time.
    process.once('beforeExit', () => {
      try {
        const tmp = `${cacheFile}.tmp-${process.pid}`;
        fs.writeFileSync(tmp, Buffer.concat([key, script.createCachedData()]));
        fs.renameSync(tmp, cacheFile);
      } catch {
        /* not writable */
      }
    });
  }
  return mod.exports.main;
}
