#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js and every module of this package it reaches) into one CommonJS file,
// dist/cli.bundle.cjs, and `spillway run` alone (dist/cli/main-run.js) into dist/cli-run.bundle.cjs, which
// bin/spillway.js loads through V8's code cache (see bin/spillway.js). Packages under
// node_modules stay outside (loaded by their own import()/require when a command needs them). Each module's
// `import.meta.url` becomes the URL of its own file under dist/, so paths relative to a module (schemas, the stage
// worker and runner scripts, package.json) resolve exactly as they do unbundled. Every dynamic `import()` left in the
// bundle (packages, stage modules) becomes a call of `__spillwayImport`, a real import() that bin/spillway.js passes
// in: V8 loses the dynamic-import callback of a script compiled from a code cache (Node 20), and the vm module's own
// answer to that is experimental and prints a warning. es-module-lexer finds the import() expressions (not the text
// "import(" inside strings or templates).
// Run after tsc (`npm run build`); needs esbuild (a devDependency).
import { createHash } from 'node:crypto';
import { readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const outfile = join(dist, 'cli.bundle.cjs');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('bundle-cli: esbuild is not installed; bin/spillway.js will load dist/cli/main.js unbundled');
  process.exit(0);
}

// The bundles are dated when this build began, by the file system's own clock (a probe file's mtime), not when they
// are written: a module of dist/ rewritten while they are built (tsc --watch, a second build), after esbuild read it,
// is then newer than both, and bin/spillway.js passes over the old code they hold instead of running it.
const probe = join(dist, `.bundle-cli-start-${process.pid}`);
await writeFile(probe, '');
const started = (await stat(probe)).mtimeMs / 1000;
await rm(probe, { force: true });

// The build's SHA-256 (of the bundles' texts with this placeholder in place of the hash): every module in them at
// once, for the engine's caches that depend on the build (engineBuild in src/engine/pipeline.ts)
const HASH_PLACEHOLDER = 'spillway-bundle-hash-placeholder';

const importMetaUrl = {
  name: 'import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist)) return undefined;
      const text = await readFile(args.path, 'utf8');
      const rel = relative(dist, args.path).split('\\').join('/');
      return { contents: text.replaceAll('import.meta.url', `__spillwayModuleUrl(${JSON.stringify(rel)})`), loader: 'js' };
    });
  },
};

// Three bundles, each the whole of what its entry reaches: the CLI (every command), `spillway run` alone (a third
// of the size: a run reads, compiles from the code cache and initialises only what a run can reach; measured about
// 4 ms less than the whole CLI's bundle), and the no-op record's check, which a run loads first (a few percent of the
// size: a no-op that its record vouches for loads nothing else). A run whose record does not hold then loads the run's
// bundle too: the few modules both hold (the check, the options, the printing) are loaded twice, read-only the first
// time.
const bundles = [
  { entry: join(dist, 'cli', 'main.js'), outfile },
  { entry: join(dist, 'cli', 'main-run.js'), outfile: join(dist, 'cli-run.bundle.cjs') },
  // What a run loads first: the no-op record's check alone (src/cli/main-noop.ts). It lists the run bundle's modules
  // as its inputs too: it answers for the engine in that bundle (a record names the engine's build by the bundles'
  // hash), so a dist/ module of the engine compiled since (tsc --watch) must send the run to dist/ unbundled, where
  // the engine compiled since decides, not to an old record.
  { entry: join(dist, 'cli', 'main-noop.js'), outfile: join(dist, 'cli-noop.bundle.cjs'), vouchesFor: 1 },
];
const { init, parse } = await import('es-module-lexer');
await init;
const built = [];
for (const { entry, outfile: out, vouchesFor } of bundles) built.push({ out, ...(await bundle(entry, out, vouchesFor === undefined ? [] : built[vouchesFor].inputs)) });
// One build hash for all (of their texts with the placeholder in place): the engine's caches keyed by the build
// (the parsed pipeline) hold for either bundle, so a `run` after a `status` does not parse the pipeline again.
const buildHash = createHash('sha256');
for (const b of built) buildHash.update(b.text).update('\0');
const hash = buildHash.digest('hex');
for (const b of built) {
  // written beside it and renamed into place: a CLI starting meanwhile reads the old bundle or the new one, never a
  // mix of one's stat (its code cache's key) and the other's text
  const temp = `${b.out}.tmp-${process.pid}`;
  await writeFile(temp, b.text.replace(HASH_PLACEHOLDER, hash));
  await utimes(temp, Date.now() / 1000, started);
  await rename(temp, b.out);
  console.error(`bundle-cli: ${relative(root, b.out)} (${(b.text.length / 1024).toFixed(0)} KiB, ${b.modules} modules)`);
}

/** The bundle of `entry`: its text with the build hash placeholder, and how many modules it holds. */
async function bundle(entry, out, alsoInputs) {
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    charset: 'ascii',
    packages: 'external',
    plugins: [importMetaUrl],
    banner: {
      js: [
        '// Generated by scripts/bundle-cli.mjs from dist/ (do not edit): the spillway CLI in one file.',
        "const __spillwayModuleUrls = new Map();",
        "const __spillwayModuleUrl = (rel) => { let url = __spillwayModuleUrls.get(rel); if (url === undefined) __spillwayModuleUrls.set(rel, (url = require('node:url').pathToFileURL(require('node:path').join(__dirname, rel)).href)); return url; };",
        `const __spillwayBundleHash = "${HASH_PLACEHOLDER}";`,
      ].join('\n'),
    },
    logLevel: 'warning',
    metafile: true,
    write: false,
  });
  let text = result.outputFiles[0].text;
  const dynamic = (source) => parse(source)[0].filter((i) => i.d > -1);
  for (const i of dynamic(text).sort((a, b) => b.ss - a.ss)) {
    if (text.slice(i.ss, i.ss + 6) !== 'import') throw new Error(`bundle-cli: unexpected dynamic import at ${i.ss}: ${text.slice(i.ss, i.ss + 40)}`);
    text = `${text.slice(0, i.ss)}__spillwayImport${text.slice(i.ss + 6)}`;
  }
  if (dynamic(text).length > 0) throw new Error('bundle-cli: a dynamic import() is left in the bundle');
  // The modules of dist/ in the bundle, on its second line: bin/spillway.js runs dist/ unbundled when any of them is newer
  // than the bundle (tsc --watch, or an incremental build, writes only the modules that changed)
  const own = Object.keys(result.metafile.inputs)
    .map((p) => relative(dist, join(process.cwd(), p)).split('\\').join('/'))
    .filter((p) => !p.startsWith('..'));
  const inputs = [...new Set([...own, ...alsoInputs])].sort();
  // bin/spillway.js reads an ASCII bundle as latin1, much faster than decoding UTF-8 (and V8 keeps it one byte per
  // character). esbuild escapes every non-ASCII character in code (charset: 'ascii'); what is left should be in the
  // comments it keeps, where an escape reads as well: checked by comparing the code without comments.
  const ascii = text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) {
    const code = async (t) => (await esbuild.transform(t, { minifyWhitespace: true, charset: 'utf8', loader: 'js' })).code;
    if ((await code(ascii)) === (await code(text))) text = ascii;
    else console.warn('bundle-cli: non-ASCII characters outside comments; the bundle stays UTF-8 (slower to read)');
  }
  const firstLine = text.indexOf('\n') + 1;
  text = `${text.slice(0, firstLine)}// spillway-bundle-inputs ${JSON.stringify(inputs)}\n${text.slice(firstLine)}`;
  return { text, inputs, modules: Object.keys(result.metafile.inputs).length };
}
