#!/usr/bin/env node
// The no-op run: `spillway run` when nothing changed, on a project shaped exactly like the repo's pipeline.yaml
// (same stages, params, inputs, deps and outputs; trivial stage bodies that import local helper files, dep files of
// 1 MB). Target (issue 11): within 30 ms of `node -e 0` on the same machine. Median of 15 runs, the commands taken in
// turn; the unbundled CLI (SPILLWAY_NO_BUNDLE=1) alongside, to show what the bundle and its code cache buy, and the
// engine's own no-op (its no-op record removed before each: the first no-op after a change, which records again).
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { bin, fmt, interleaved, loadAverage, pairedGap, remove, repoRoot, sleep, tempProject, timed } from './_engine-util.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

/**
 * Removes the project's no-op records (src/engine/noop-record.ts), so that the next no-op is the engine's (and records
 * again); returns a function that puts back those it did not write again (the other CLI's, bundled or not).
 */
function dropRecords(dir) {
  const own = join(dir, '.spillway');
  const kept = new Map();
  for (const name of existsSync(own) ? readdirSync(own) : []) {
    if (!name.startsWith('noop-record-')) continue;
    kept.set(name, readFileSync(join(own, name)));
    rmSync(join(own, name));
  }
  return () => {
    for (const [name, bytes] of kept) if (!existsSync(join(own, name))) writeFileSync(join(own, name), bytes);
  };
}

function projectFromPipeline(pipelineText) {
  const doc = parse(pipelineText);
  const files = {};
  const stages = {};
  files['lib/common.ts'] = 'export const tag = (s: string) => `stage ${s}`;\n';
  for (const [name, s] of Object.entries(doc.stages)) {
    const stage = { run: `stages/${name}.ts` };
    if (s.deps) {
      stage.deps = s.deps;
      for (const dep of s.deps) {
        const paths = /[*?[{]/.test(dep) ? ['a', 'b', 'c'].map((x) => dep.replace('*', x)) : [dep];
        for (const p of paths) files[p] = `${name} ${p}\n`.repeat(Math.ceil((1 << 20) / (name.length + p.length + 2)));
      }
    }
    if (s.inputs) stage.inputs = s.inputs;
    if (s.params) stage.params = s.params;
    const jsonOuts = [];
    const fileOuts = [];
    if (s.outs) {
      stage.outs = s.outs;
      for (const [out, decl] of Object.entries(s.outs)) {
        if (decl.schema) {
          files[decl.schema] = '{ "type": "object", "required": ["stage"] }\n';
          jsonOuts.push(out);
        } else fileOuts.push([out, decl.dir ? 'dir' : 'file']);
      }
    }
    files[`lib/${name}.ts`] = `import { tag } from './common.js';\nexport const label = () => tag(${JSON.stringify(name)});\n`;
    files[`stages/${name}.ts`] = [
      "import { writeFileSync } from 'node:fs';",
      "import { join } from 'node:path';",
      `import { label } from '../lib/${name}.js';`,
      'export default function stage(ctx: any) {',
      ...fileOuts.map(([o, kind]) => (kind === 'dir' ? `  writeFileSync(join(ctx.outPath(${JSON.stringify(o)}), 'index.html'), label());` : `  writeFileSync(ctx.outPath(${JSON.stringify(o)}), label());`)),
      `  return { ${jsonOuts.map((o) => `${JSON.stringify(o)}: { stage: label(), inputs: Object.keys(ctx.inputs) }`).join(', ')} };`,
      '}',
      '',
    ].join('\n');
    stages[name] = stage;
  }
  files['pipeline.yaml'] = JSON.stringify({ params: doc.params ?? {}, stages }, null, 2); // JSON is YAML
  return { files, stageCount: Object.keys(stages).length };
}

const realPipeline = join(repoRoot, 'pipeline.yaml');
const source = existsSync(realPipeline) ? 'the repo pipeline.yaml' : 'a synthetic 7-stage pipeline';
const text = existsSync(realPipeline)
  ? readFileSync(realPipeline, 'utf8')
  : readFileSync(join(repoRoot, 'test/fixtures/engine/basic/pipeline.yaml'), 'utf8');
const { files, stageCount } = projectFromPipeline(text);
const dir = tempProject('noop', files);
try {
  const first = timed(process.execPath, [bin, 'run', '--json'], dir);
  const report = JSON.parse(first.stdout);
  if (!report.ok) throw new Error(`first run failed: ${first.stdout}`);
  await sleep(2100); // past the racy-timestamp window, as on any real second run
  timed(process.execPath, [bin, 'run'], dir); // settles the stat cache (re-hashes the outputs written by run 1)
  const noopRun = (env, fromRecord = true) => () => {
    const put = fromRecord ? undefined : dropRecords(dir);
    const r = timed(process.execPath, [bin, 'run', '--json'], dir, env);
    put?.();
    const report = JSON.parse(r.stdout);
    if (report.stages.some((x) => x.status !== 'cached')) throw new Error(`not a no-op: ${r.stdout}`);
    if ((report.from_record === true) !== fromRecord) throw new Error(`expected a no-op ${fromRecord ? 'from' : 'without'} its record: ${r.stdout}`);
    return r;
  };
  timed(process.execPath, [bin, 'run'], dir); // writes the no-op record of the bundled CLI
  timed(process.execPath, [bin, 'run'], dir, { SPILLWAY_NO_BUNDLE: '1' }); // and of the unbundled one
  // taken in turn, so that a changing load weighs on each alike
  const [node, version, noop, unbundled, engine, status] = interleaved(RUNS, [
    () => timed(process.execPath, ['-e', '0'], dir),
    () => timed(process.execPath, [bin, '--version'], dir),
    noopRun({}),
    noopRun({ SPILLWAY_NO_BUNDLE: '1' }),
    noopRun({}, false),
    () => timed(process.execPath, [bin, 'status', '--json'], dir),
  ]);
  const depBytes = Object.entries(files).filter(([p]) => p.startsWith('data/')).reduce((n, [, t]) => n + t.length, 0);
  console.log(`no-op run of ${source} (${stageCount} stages, ${(depBytes / 2 ** 20).toFixed(1)} MB of deps), median of ${RUNS} (load average ${loadAverage()}):`);
  const row = (label, r) => console.log(`  ${label.padEnd(30)}  wall ${fmt(r.median).padStart(9)}  (min ${fmt(r.min)}, max ${fmt(r.max)})  cpu ${fmt(r.cpu)} (mean ${fmt(r.cpuMean)})`);
  row('node -e 0', node);
  row('spillway --version', version);
  row('spillway run (no-op)', noop);
  row('  the same, unbundled CLI', unbundled);
  row('  the engine deciding (no record)', engine);
  row('spillway status', status);
  const gap = pairedGap(noop, node);
  console.log(`  target: no-op within 30 ms of node -e 0; above it: wall ${fmt(noop.median - node.median)}, cpu ${fmt(noop.cpuMean - node.cpuMean)} (means); wall run by run (median of the paired differences): ${fmt(gap)}`);
  writeFileSync(join(dir, '.bench-done'), '');
} finally {
  remove(dir);
}

// The real default pipeline: the repo's stages, statistics code and data, copied to a temp directory (so the bench
// never touches the working tree), run once for real, then timed as a no-op. Skipped without data/raw.
if (process.env.BENCH_REAL !== '0' && existsSync(join(repoRoot, 'data', 'raw')) && existsSync(realPipeline)) {
  const real = mkdtempSync(join(tmpdir(), 'spillway-bench-real-'));
  try {
    for (const p of ['pipeline.yaml', 'package.json', 'stages', 'src', 'schemas', 'data']) {
      if (existsSync(join(repoRoot, p))) cpSync(join(repoRoot, p), join(real, p), { recursive: true });
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(real, 'node_modules'));
    const full = timed(process.execPath, [bin, 'run', '--json'], real);
    const report = JSON.parse(full.stdout);
    await sleep(2100);
    timed(process.execPath, [bin, 'run'], real);
    timed(process.execPath, [bin, 'run'], real); // the no-op that writes the record
    timed(process.execPath, [bin, 'run'], real, { SPILLWAY_NO_BUNDLE: '1' });
    const checked = (env, fromRecord = true) => () => {
      const put = fromRecord ? undefined : dropRecords(real);
      const r = timed(process.execPath, [bin, 'run', '--json'], real, env);
      put?.();
      const out = JSON.parse(r.stdout);
      if (out.stages.some((x) => x.status !== 'cached') || (out.from_record === true) !== fromRecord) throw new Error(`not the no-op expected: ${r.stdout}`);
      return r;
    };
    const [node, noop, unbundled, engine] = interleaved(RUNS, [
      () => timed(process.execPath, ['-e', '0'], real),
      checked({}),
      checked({ SPILLWAY_NO_BUNDLE: '1' }),
      checked({}, false),
    ]);
    const lock = JSON.parse(readFileSync(join(real, 'pipeline.lock'), 'utf8'));
    const codeFiles = new Set(Object.values(lock.stages).flatMap((s) => s.code.files.map((f) => f.path)));
    const depFiles = new Set(Object.values(lock.stages).flatMap((s) => s.deps.map((f) => f.path)));
    console.log(`no-op run of the real default pipeline (${report.stages.length} stages, ${codeFiles.size} code files, ${depFiles.size} dep files; full run took ${fmt(full.ms)}), median of ${RUNS} (load average ${loadAverage()}):`);
    console.log(`  node -e 0                       wall ${fmt(node.median).padStart(9)}  (min ${fmt(node.min)})  cpu ${fmt(node.cpu)} (mean ${fmt(node.cpuMean)})`);
    console.log(`  spillway run (no-op)            wall ${fmt(noop.median).padStart(9)}  (min ${fmt(noop.min)}, max ${fmt(noop.max)})  cpu ${fmt(noop.cpu)} (mean ${fmt(noop.cpuMean)})`);
    console.log(`    the same, unbundled CLI       wall ${fmt(unbundled.median).padStart(9)}  (min ${fmt(unbundled.min)}, max ${fmt(unbundled.max)})  cpu ${fmt(unbundled.cpu)} (mean ${fmt(unbundled.cpuMean)})`);
    console.log(`    the engine deciding (no record) wall ${fmt(engine.median).padStart(7)}  (min ${fmt(engine.min)}, max ${fmt(engine.max)})  cpu ${fmt(engine.cpu)} (mean ${fmt(engine.cpuMean)})`);
    const gap = pairedGap(noop, node);
    console.log(`  above node -e 0: wall ${fmt(noop.median - node.median)} (target: within 30 ms), cpu ${fmt(noop.cpuMean - node.cpuMean)} (means); wall run by run (median of the paired differences): ${fmt(gap)}`);
  } finally {
    remove(real);
  }
}
