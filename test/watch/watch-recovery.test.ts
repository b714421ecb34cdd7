// `spillway watch` started on an invalid pipeline, and following a stage's code into a newly imported file.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, PIPELINE } from '../provenance/real-project.js';
import { WatchProcess } from './watcher-process.js';

let root: string;
let watcher: WatchProcess;
const file = (relative: string) => path.join(root, relative);

beforeAll(async () => {
  root = await makeProject('spillway-watch-recovery-');
  await writeFile(file('pipeline.yaml'), PIPELINE.replace('run: stages/total.ts', 'run: stages/total.ts\n    bogus: 1'));
  watcher = new WatchProcess(root);
}, 60_000);

afterAll(async () => {
  await watcher?.stop();
  // every line the watcher printed has the documented shape
  expect(watcher?.invalid ?? []).toEqual([]);
  await rm(root, { recursive: true, force: true });
});

describe('spillway watch recovering and following code', { timeout: 180_000 }, () => {
  it('starts on an invalid pipeline file, reports it, and runs once it is fixed', async () => {
    const first = await watcher.nextRun('the first run');
    expect(first).toMatchObject({ run: 1, ok: false, ran: [], error: { error: 'invalidPipeline', line: 13 } });
    await watcher.next((l) => l.event === 'ready', 'ready');
    await writeFile(file('pipeline.yaml'), PIPELINE);
    const fixed = await watcher.nextRun('run after the fix');
    expect(fixed).toMatchObject({ run: 2, ok: true, changed: ['pipeline.yaml'], ran: ['count', 'total', 'report'] });
  });

  it('watches a file a stage starts to import, even in a new directory', async () => {
    await mkdir(file('lib/more'), { recursive: true });
    await writeFile(file('lib/more/bonus.ts'), 'export const bonus = 10;\n');
    const total = await readFile(file('stages/total.ts'), 'utf8');
    await writeFile(file('stages/total.ts'), `import { bonus } from '../lib/more/bonus.js';\n${total.replace("+ ctx.param('total.offset')", "+ ctx.param('total.offset') + bonus")}`);
    const withImport = await watcher.nextRun('run after adding the import');
    expect(withImport).toMatchObject({ ok: true, changed: ['stages/total.ts'], ran: ['total', 'report'], cached: ['count'] });
    await writeFile(file('lib/more/bonus.ts'), 'export const bonus = 20;\n');
    const bonus = await watcher.nextRun('run after editing the imported file');
    expect(bonus).toMatchObject({ ok: true, changed: ['lib/more/bonus.ts'], ran: ['total', 'report'], cached: ['count'] });
    const sum = JSON.parse(await readFile(file('artifacts/out/total/sum.json'), 'utf8')) as { sum: number };
    expect(sum.sum).toBe(6 + 1 + 20); // 3 data lines × scale 2, offset 1, bonus 20
  });
});
