// `spillway watch` as a real process on a real project (`npm run build` first). Every step edits files the way a
// person or an editor does and asserts exactly which stages the next run ran.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, spillway } from '../provenance/real-project.js';
import { WatchProcess } from './watcher-process.js';

let root: string;
let watcher: WatchProcess;
const file = (relative: string) => path.join(root, relative);
const edit = async (relative: string, change: (text: string) => string) => {
  const before = await readFile(file(relative), 'utf8');
  const after = change(before);
  expect(after).not.toBe(before);
  await writeFile(file(relative), after);
};

beforeAll(async () => {
  root = await makeProject('spillway-watch-');
  watcher = new WatchProcess(root);
  const first = await watcher.nextRun('the first run');
  expect(first).toMatchObject({ run: 1, trigger: 'start', ok: true, ran: ['count', 'total', 'report'] });
  await watcher.next((l) => l.event === 'ready', 'ready');
}, 180_000);

afterAll(async () => {
  await watcher?.stop();
  // every line the watcher printed has the documented shape
  expect(watcher?.invalid ?? []).toEqual([]);
  await rm(root, { recursive: true, force: true });
});

describe('spillway watch', { timeout: 180_000 }, () => {
  it('a param edit re-runs only the stage that declares it and what is downstream', async () => {
    await edit('pipeline.yaml', (t) => t.replace('offset: 1', 'offset: 2'));
    const run = await watcher.nextRun('run after the param edit');
    expect(run).toMatchObject({ ok: true, changed: ['pipeline.yaml'], ran: ['total', 'report'], cached: ['count'] });
  });

  it('an edit to a locally imported code file re-runs the stage that imports it', async () => {
    // same result for the data at hand (early cutoff stops at count), different code
    await edit('lib/lines.ts', (t) => t.replace(".slice(1).length", ".slice(1).length * 1"));
    const run = await watcher.nextRun('run after the code edit');
    expect(run).toMatchObject({ ok: true, changed: ['lib/lines.ts'], ran: ['count'], cached: ['total', 'report'] });
  });

  it('a new file matching a dep glob is picked up', async () => {
    await writeFile(file('data/raw/c.csv'), 'a,b\n7,8\n');
    const run = await watcher.nextRun('run after adding c.csv');
    expect(run).toMatchObject({ ok: true, changed: ['data/raw/c.csv'], ran: ['count', 'total', 'report'] });
    const counts = JSON.parse(await readFile(file('artifacts/out/count/counts.json'), 'utf8')) as { rows: Record<string, number> };
    expect(counts.rows['c.csv']).toBe(2);
  });

  it('an atomic save (write temp, rename over) and a burst of writes each trigger exactly one run', async () => {
    await writeFile(file('data/raw/.b.csv.swp'), 'a,b\n5,6\n5,6\n');
    await rename(file('data/raw/.b.csv.swp'), file('data/raw/b.csv'));
    const atomic = await watcher.nextRun('run after the atomic save');
    expect(atomic).toMatchObject({ ok: true, changed: ['data/raw/b.csv'], ran: ['count', 'total', 'report'] });
    for (let i = 0; i < 5; i++) await writeFile(file('data/raw/a.csv'), `a,b\n${'1,1\n'.repeat(i + 1)}`);
    const burst = await watcher.nextRun('run after the burst');
    expect(burst).toMatchObject({ run: (atomic.run as number) + 1, ok: true, changed: ['data/raw/a.csv'], ran: ['count', 'total', 'report'] });
    const counts = JSON.parse(await readFile(file('artifacts/out/count/counts.json'), 'utf8')) as { rows: Record<string, number> };
    expect(counts.rows['a.csv']).toBe(10); // the last write: 5 data lines × count.scale 2
  });

  it('changes during a run are coalesced into one follow-up run', async () => {
    await edit('pipeline.yaml', (t) => t.replace('scale: 2', 'scale: 3'));
    const start = await watcher.nextStart('the run after the scale edit to start');
    // while it runs: two more edits to two different files
    await edit('pipeline.yaml', (t) => t.replace('offset: 2', 'offset: 4'));
    await writeFile(file('data/raw/d.csv'), 'a,b\n1,1\n');
    const first = await watcher.nextRun('the run under way');
    expect(first).toMatchObject({ run: start.run, changed: ['pipeline.yaml'] });
    const followUp = await watcher.nextRun('the follow-up run');
    expect(followUp.run).toBe((start.run as number) + 1);
    expect(followUp.changed).toEqual(['data/raw/d.csv', 'pipeline.yaml']);
    expect(followUp.ok).toBe(true);
    // whichever stage the run under way already saw d.csv in, the end state reflects every edit:
    // scale 3 × data lines (a 5, b 2, c 1, d 1) = 27, plus offset 4
    const sum = JSON.parse(await readFile(file('artifacts/out/total/sum.json'), 'utf8')) as { sum: number };
    expect(sum.sum).toBe(31);
  });

  it('an invalid pipeline.yaml is reported, watching goes on, and fixing it recovers without a restart', async () => {
    const good = await readFile(file('pipeline.yaml'), 'utf8');
    await writeFile(file('pipeline.yaml'), good.replace('inputs: { counts: count.counts }', 'inputs: { counts: count.nothing }'));
    const broken = await watcher.nextRun('run after breaking pipeline.yaml');
    expect(broken).toMatchObject({ ok: false, ran: [], changed: ['pipeline.yaml'], error: { error: 'invalidPipeline' } });
    expect(broken.error?.message).toContain('stage "count" has no output "nothing"');
    await writeFile(file('pipeline.yaml'), good.replace('offset: 4', 'offset: 5'));
    const fixed = await watcher.nextRun('run after fixing pipeline.yaml');
    expect(fixed).toMatchObject({ ok: true, changed: ['pipeline.yaml'], ran: ['total', 'report'], cached: ['count'] });
  });

  it('a failing stage is reported, downstream is skipped, and fixing the code recovers', async () => {
    const good = await readFile(file('stages/total.ts'), 'utf8');
    await writeFile(file('stages/total.ts'), "export default () => { throw new Error('total is broken'); };\n");
    const failed = await watcher.nextRun('run after breaking total.ts');
    expect(failed).toMatchObject({ ok: false, ran: [], cached: ['count'], skipped: ['report'] });
    expect(failed.failed).toEqual([expect.objectContaining({ stage: 'total', error: expect.stringContaining('total is broken') })]);
    await writeFile(file('stages/total.ts'), good);
    const fixed = await watcher.nextRun('run after fixing total.ts');
    // total's key is back to the recorded one: cached; nothing downstream changed
    expect(fixed).toMatchObject({ ok: true, changed: ['stages/total.ts'], ran: [], cached: ['count', 'total', 'report'] });
  });

  it('Ctrl-C stops cleanly and leaves the store consistent', async () => {
    // interrupt a run under way
    await edit('pipeline.yaml', (t) => t.replace('scale: 3', 'scale: 4'));
    await watcher.nextStart('a run to interrupt');
    const code = await watcher.stop();
    expect(code).toBe(0);
    expect(watcher.lines.at(-1)).toMatchObject({ event: 'stopped' });
    // every artifact and store object the lockfile names is intact (stages not yet re-run are merely stale)
    const audit = await spillway(['audit', '--json'], root);
    const report = JSON.parse(audit.stdout) as { findings: { kind: string }[] };
    expect(report.findings.filter((f) => f.kind === 'missing' || f.kind === 'corrupted')).toEqual([]);
    const run = await spillway(['run', '--json'], root);
    expect(run.code, run.stderr).toBe(0);
    expect((await spillway(['audit'], root)).code).toBe(0);
  });
});
