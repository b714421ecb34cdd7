// The lock race of issue 9: N contender processes released at the same instant (a barrier file) against the lock
// of a holder that died without releasing it. Each trial counts the winners; a sound lock has exactly one.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const until = async (check: () => boolean, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('lock race: timed out waiting for the contenders');
    await new Promise((r) => setTimeout(r, 2));
  }
};

/** Writes the lock a SIGKILLed holder leaves: `dir` (this version's format) or `file` (the old O_EXCL file). */
export function writeDeadLock(root: string, format: 'dir' | 'file', tag: string): number {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its pid is free
  const info = { pid: dead, host: hostname(), started: new Date().toISOString(), command: 'run', token: `dead-${tag}` };
  mkdirSync(join(root, '.spillway'), { recursive: true });
  if (format === 'file') writeFileSync(join(root, '.spillway/lock'), JSON.stringify(info));
  else {
    mkdirSync(join(root, '.spillway/lock'));
    writeFileSync(join(root, '.spillway/lock/owner.json'), JSON.stringify(info));
  }
  return dead;
}

export interface RaceResult {
  /** winners per trial */
  winners: number[];
  errors: string[];
}

export async function lockRace(moduleUrl: string, options: { contenders: number; trials: number; format: 'dir' | 'file' }): Promise<RaceResult> {
  const work = mkdtempSync(join(tmpdir(), 'spillway-race-'));
  const root = join(work, 'project');
  const sync = join(work, 'sync');
  mkdirSync(root);
  mkdirSync(sync);
  const contender = new URL('./lock-contender.mjs', import.meta.url).pathname;
  const children = Array.from({ length: options.contenders }, (_, id) =>
    spawn(process.execPath, [contender, moduleUrl, root, sync, String(options.trials), String(id)], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let stderr = '';
  for (const c of children) c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const result: RaceResult = { winners: [], errors: [] };
  try {
    for (let n = 0; n < options.trials; n++) {
      rmSync(join(root, '.spillway'), { recursive: true, force: true });
      writeDeadLock(root, options.format, String(n));
      writeFileSync(join(sync, `go-${n}`), '');
      const files = Array.from({ length: options.contenders }, (_, id) => join(sync, `r-${n}-${id}`));
      await until(() => files.every((f) => existsSync(f)) || stderr !== '');
      if (stderr) throw new Error(`a contender failed: ${stderr}`);
      const outcomes = files.map((f) => readFileSync(f, 'utf8'));
      result.errors.push(...outcomes.filter((o) => o.startsWith('error')));
      const winners = outcomes.map((o, id) => (o === 'win' ? id : -1)).filter((id) => id >= 0);
      result.winners.push(winners.length);
      writeFileSync(join(sync, `end-${n}`), '');
      await until(() => winners.every((id) => existsSync(join(sync, `rel-${n}-${id}`))));
    }
  } finally {
    for (const c of children) c.kill();
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}
