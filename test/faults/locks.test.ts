// Fault injection on the project lock (issue 9, item 5): many contenders against a dead holder's lock, reused pids,
// holders on other hosts, and `export` racing a run. Real processes, the real CLI (bin/ runs dist/: build first).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireProjectLock, lockHolder } from '../../src/engine/project-lock.js';
import { cleanupProjects, cli, copyFixture, repoRoot, startCli, waitFor, writeProject } from '../engine/helpers.js';
import { lockRace, writeDeadLock } from './lock-race.js';

afterAll(cleanupProjects);

const writeLock = (root: string, owner: Record<string, unknown>) => {
  mkdirSync(join(root, '.spillway/lock'), { recursive: true });
  writeFileSync(join(root, '.spillway/lock/owner.json'), JSON.stringify({ host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'run', token: 'x', ...owner }));
};

describe('project lock', () => {
  it('8 contenders released together against a dead holder’s lock: exactly one wins, in every one of 60 trials', async () => {
    const moduleUrl = pathToFileURL(join(repoRoot, 'dist/engine/project-lock.js')).href;
    const { winners, errors } = await lockRace(moduleUrl, { contenders: 8, trials: 60, format: 'dir' });
    expect(errors).toEqual([]);
    expect(winners).toHaveLength(60);
    expect(winners.filter((w) => w !== 1)).toEqual([]);
  }, 120_000);

  it('a run takes over the lock of a holder killed earlier, and releases it', async () => {
    const dir = copyFixture('basic');
    writeDeadLock(dir, 'dir', 'killed');
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, '.spillway/lock'))).toBe(false);
  });

  it('a taker that died while removing a dead holder’s lock is itself taken over', async () => {
    const dir = copyFixture('basic');
    writeDeadLock(dir, 'dir', 'holder');
    const deadTaker = spawnSync(process.execPath, ['-e', '0']).pid as number;
    mkdirSync(join(dir, '.spillway/lock/takeover'));
    writeFileSync(join(dir, '.spillway/lock/takeover/owner.json'), JSON.stringify({ pid: deadTaker, host: hostname(), started: 'x', command: 'run', token: 'taker' }));
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, '.spillway/lock'))).toBe(false);
  });

  it('a lock directory that lost its owner file (power loss) is taken over once it is old', async () => {
    const dir = copyFixture('basic');
    mkdirSync(join(dir, '.spillway/lock'), { recursive: true });
    writeFileSync(join(dir, '.spillway/lock/owner.json'), '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, '.spillway/lock'), past, past);
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a lock file of the previous format whose owner is dead is taken over too', async () => {
    const dir = copyFixture('basic');
    writeDeadLock(dir, 'file', 'legacy');
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a reused pid (alive, but started after the holder) is recognized as a dead holder', async () => {
    const dir = copyFixture('basic');
    const other = spawn('sleep', ['30']);
    try {
      writeLock(dir, { pid: other.pid, pstart: '1' }); // a start time the live process does not have
      const r = await cli(['run'], dir);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      other.kill();
    }
  });

  it('a lock held by a live process that is not spillway: exit 5, saying so and how to clear it', async () => {
    const dir = copyFixture('basic');
    const other = spawn('sleep', ['30']);
    try {
      writeLock(dir, { pid: other.pid }); // no start time recorded: cannot be sure, so the user decides
      const r = await cli(['run'], dir);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`pid ${other.pid} is now "sleep 30", not spillway`);
      expect(r.stderr).toContain('rm -r');
      expect(r.stderr).toContain('.spillway/lock');
    } finally {
      other.kill();
    }
  });

  it('a holder on another host is not probed: exit 5 naming the host; a waiter takes over once its heartbeat stops', async () => {
    const dir = copyFixture('basic');
    writeLock(dir, { pid: 1, host: 'node17.cluster' });
    const r = await cli(['run'], dir);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('pid 1 on node17.cluster');
    expect(r.stderr).toContain('if no spillway run is active on node17.cluster');
    const release = await acquireProjectLock(dir, { wait: true, staleMs: 300 });
    expect(lockHolder(dir)?.pid).toBe(process.pid);
    release();
    expect(existsSync(join(dir, '.spillway/lock'))).toBe(false);
  });

  it('a live holder’s heartbeat keeps a waiter on another host from taking over', async () => {
    const root = mkdtempSync(join(tmpdir(), 'spillway-heartbeat-'));
    try {
      const release = await acquireProjectLock(root, { heartbeatMs: 20 });
      // seen from another host: same lock, but the host name differs, so only the heartbeat tells it is alive
      const token = lockHolder(root)?.token;
      const ownerFile = join(root, '.spillway/lock/owner.json');
      const info = JSON.parse((await import('node:fs')).readFileSync(ownerFile, 'utf8')) as Record<string, unknown>;
      writeFileSync(ownerFile, JSON.stringify({ ...info, host: 'elsewhere' }));
      await expect(acquireProjectLock(root, { wait: true, staleMs: 1000, timeoutMs: 2500 })).rejects.toThrow(/elsewhere/);
      expect(lockHolder(root)?.token).toBe(token);
      release();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('waiting for the lock stops on the abort signal', async () => {
    const root = mkdtempSync(join(tmpdir(), 'spillway-abort-'));
    try {
      const release = await acquireProjectLock(root, {});
      const controller = new AbortController();
      const waiting = acquireProjectLock(root, { wait: true, signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      await expect(waiting).rejects.toMatchObject({ kind: 'interrupted' });
      release();
      expect(readdirSync(join(root, '.spillway'))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('export takes the lock: refused with exit 5 while a run holds it, then exports the finished run', async () => {
    const dir = writeProject({
      'schemas/n.schema.json': JSON.stringify({ type: 'object' }),
      'stages/first.ts': 'export default () => ({ n: { v: 1 } });\n',
      'stages/slow.ts': [
        "import { existsSync, writeFileSync } from 'node:fs';",
        'export default async function slow() {',
        "  writeFileSync('started', '');",
        "  while (existsSync('hold')) await new Promise((r) => setTimeout(r, 20));",
        '  return { n: { v: 2 } };',
        '}',
        '',
      ].join('\n'),
      'pipeline.yaml': [
        'stages:',
        '  first: { run: stages/first.ts, outs: { n: { schema: schemas/n.schema.json } } }',
        '  slow: { run: stages/slow.ts, inputs: { n: first.n }, outs: { n: { schema: schemas/n.schema.json } } }',
        '',
      ].join('\n'),
    });
    expect((await cli(['run'], dir)).code).toBe(0);
    writeFileSync(join(dir, 'stages/slow.ts'), `${(await import('node:fs')).readFileSync(join(dir, 'stages/slow.ts'), 'utf8')}// changed\n`);
    rmSync(join(dir, 'started'));
    writeFileSync(join(dir, 'hold'), '');
    const run = startCli(['run'], dir);
    await waitFor(() => existsSync(join(dir, 'started')));
    const target = mkdtempSync(join(tmpdir(), 'spillway-export-'));
    try {
      const refused = await cli(['export', join(target, 'pkg')], dir);
      expect(refused.code).toBe(5);
      expect(refused.stderr).toMatch(/another spillway run \(pid \d+ on .*\) holds the project lock/);
      expect(existsSync(join(target, 'pkg'))).toBe(false);
      rmSync(join(dir, 'hold'));
      expect((await run.done).code).toBe(0);
      const exported = await cli(['export', join(target, 'pkg')], dir);
      expect(exported.code, exported.stderr).toBe(0);
      expect(existsSync(join(target, 'pkg/pipeline.lock'))).toBe(true);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });
});
