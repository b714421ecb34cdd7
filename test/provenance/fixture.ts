// A hand-built project: real files, a content-addressed store and a lockfile whose hashes are computed here from
// those files, in the layout CONTRACTS §2 fixes. Lets audit/lineage/export be tested without running the engine.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LockedFile, LockedOutput, LockedStage, Lockfile } from '../../src/engine/lockfile-format.js';

export const sha256 = (bytes: string | Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface Fixture {
  root: string;
  lock: Lockfile;
  write(relative: string, content: string | Buffer): Promise<void>;
  read(relative: string): Promise<Buffer>;
}

export async function buildFixture(): Promise<Fixture> {
  const root = await mkdtemp(path.join(tmpdir(), 'spillway-prov-'));
  const write = async (relative: string, content: string | Buffer) => {
    await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
    await writeFile(path.join(root, relative), content);
  };
  const file = async (relative: string, content: string): Promise<LockedFile> => {
    await write(relative, content);
    return { path: relative, hash: sha256(content), size: Buffer.byteLength(content) };
  };
  const objectPath = (hash: string) => {
    const hex = hash.slice('sha256:'.length);
    return `artifacts/objects/${hex.slice(0, 2)}/${hex.slice(2)}`;
  };
  const jsonOut = async (stage: string, name: string, value: unknown, schema?: LockedFile): Promise<LockedOutput> => {
    const text = JSON.stringify(value, null, 2) + '\n';
    const hash = sha256(text);
    await write(objectPath(hash), text);
    await write(`artifacts/out/${stage}/${name}.json`, text);
    return {
      kind: 'json', hash, size: Buffer.byteLength(text), path: `artifacts/out/${stage}/${name}.json`, object: objectPath(hash),
      ...(schema ? { schema: { path: schema.path, hash: schema.hash } } : {}),
    };
  };
  const run = (started: string, ms: number) => ({
    started, ended: new Date(Date.parse(started) + ms).toISOString(), duration_ms: ms,
    engine_version: '0.1.0', node_version: process.version, platform: `${process.platform}-${process.arch}`,
  });
  const code = (files: LockedFile[], module: string) => ({ hash: sha256(files.map((f) => f.hash).join('\n')), module, files });

  const pipelineText = [
    'params:',
    '  ingest: { pattern: "nano" }',
    '  model: { k: 3, weights: [1, 2] }',
    'stages:',
    '  ingest:',
    '    run: stages/ingest.ts',
    '    deps: [data/raw/*.csv]',
    '    params: [ingest.pattern]',
    '    outs: { panel: { schema: schemas/panel.schema.json } }',
    '  model:',
    '    run: stages/model.ts',
    '    inputs: { panel: ingest.panel }',
    '    params: [model.k, model.weights]',
    '    outs: { fit: { schema: schemas/fit.schema.json } }',
    '  report:',
    '    run: stages/report.ts',
    '    inputs: { fit: model.fit, panel: ingest.panel }',
    '    outs: { site: { dir: report } }',
    '',
  ].join('\n');
  const pipeline = await file('pipeline.yaml', pipelineText);

  const regions = await file('data/raw/regions.csv', 'code,name\nCN-BJ,Beijing\nCN-SH,Shanghai\n');
  const patents = await file('data/raw/patents.csv', 'id,year,region\n1,2001,CN-BJ\n2,2002,CN-SH\n3,2002,CN-BJ\n');
  const lib = await file('src/lib/count.ts', 'export const count = (xs: unknown[]) => xs.length;\n');
  const ingestCode = await file('stages/ingest.ts', "import { count } from '../src/lib/count.js';\nexport default () => ({ panel: { n: count([1, 2, 3]) } });\n");
  const modelCode = await file('stages/model.ts', 'export default () => ({ fit: { beta: 0.5 } });\n');
  const reportCode = await file('stages/report.ts', 'export default () => ({});\n');
  const schema = await file('schemas/panel.schema.json', '{"type":"object"}\n');
  const fitSchema = await file('schemas/fit.schema.json', '{"type":"object","required":["beta"]}\n');

  const panel = await jsonOut('ingest', 'panel', { n: 3, regions: ['CN-BJ', 'CN-SH'] }, schema);
  const fit = await jsonOut('model', 'fit', { beta: 0.5, se: 0.1 }, fitSchema);
  const index = await file('report/index.html', '<!doctype html><title>report</title><p>beta = 0.5</p>\n');
  const table = await file('report/table.csv', 'term,beta\nx,0.5\n');
  // as the engine stores a dir (src/engine/store.ts putDir): every file as an object, plus a manifest object whose
  // hash is the dir's hash; the lockfile lists the files relative to the dir
  const siteFiles = [index, table].map((f) => ({ path: f.path.slice('report/'.length), hash: f.hash, size: f.size }));
  for (const f of [index, table]) await write(objectPath(f.hash), await readFile(path.join(root, f.path)));
  const manifest = JSON.stringify({ spillway_dir: 1, files: siteFiles });
  const siteHash = sha256(manifest);
  await write(objectPath(siteHash), manifest);
  const site: LockedOutput = {
    kind: 'dir', hash: siteHash, size: index.size + table.size, path: 'report', object: objectPath(siteHash),
    files: siteFiles,
  };

  const stage = (s: Omit<LockedStage, 'key'>): LockedStage => ({ key: sha256(JSON.stringify(s)), ...s });
  const lock: Lockfile = {
    spillway_lock: 1,
    pipeline: { path: 'pipeline.yaml', hash: pipeline.hash },
    stages: {
      ingest: stage({
        code: code([ingestCode, lib], 'stages/ingest.ts'), params: { 'ingest.pattern': 'nano' }, deps: [patents, regions],
        inputs: {}, outs: { panel }, run: run('2026-11-28T09:00:00.000Z', 1250),
      }),
      model: stage({
        code: code([modelCode], 'stages/model.ts'), params: { 'model.k': 3, 'model.weights': [1, 2] }, deps: [],
        inputs: { panel: { from: 'ingest.panel', hash: panel.hash } }, outs: { fit }, run: run('2026-11-28T09:00:01.300Z', 420),
      }),
      report: stage({
        code: code([reportCode], 'stages/report.ts'), params: {}, deps: [],
        inputs: { fit: { from: 'model.fit', hash: fit.hash }, panel: { from: 'ingest.panel', hash: panel.hash } },
        outs: { site }, run: run('2026-11-28T09:00:01.800Z', 95),
      }),
    },
  };
  await write('pipeline.lock', JSON.stringify(lock, null, 2) + '\n');
  return { root, lock, write, read: (relative) => readFile(path.join(root, relative)) };
}

/** Flips the lowest bit of one byte in place, the smallest possible corruption. */
export async function flipByte(root: string, relative: string, at = 0): Promise<void> {
  const bytes = await readFile(path.join(root, relative));
  bytes[at] ^= 1;
  await writeFile(path.join(root, relative), bytes);
}
