// What the fast commands print goes straight to the file descriptor (src/cli/output.ts), not through
// process.stdout: it must behave as the stream did. A reader that went away (`spillway status --json | head -c 1`)
// ends the command quietly with exit 0, as main's EPIPE handler does for the stream; output larger than a pipe's
// buffer arrives whole.
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { bin, cleanupProjects, copyFixture, cli, writeProject } from './helpers.js';

afterAll(cleanupProjects);

/** The CLI with its stdout a pipe whose reading end is closed before the CLI writes anything. */
function withClosedStdout(args: string[], cwd: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

it('a closed stdout ends run --json, status --json and status quietly with exit 0', async () => {
  const dir = copyFixture('basic');
  expect((await cli(['run'], dir)).code).toBe(0);
  for (const args of [['run', '--json'], ['status', '--json'], ['status'], ['--version']]) {
    const r = await withClosedStdout(args, dir);
    expect({ args, code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ args, code: 0, signal: null, stderr: '' });
  }
});

it('a status larger than a pipe buffer arrives whole', async () => {
  // 400 stages with long names: about 200 KB of JSON, more than the 64 KB a pipe holds
  const stages = Array.from({ length: 400 }, (_, i) => `  stage_${String(i).padStart(3, '0')}_${'x'.repeat(200)}: { cmd: [node, -e, "0"] }`);
  const dir = writeProject({ 'pipeline.yaml': `stages:\n${stages.join('\n')}\n` });
  const r = await cli(['status', '--json'], dir);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.length).toBeGreaterThan(128 * 1024);
  const report = JSON.parse(r.stdout) as { stages: { stage: string }[] };
  expect(report.stages).toHaveLength(400);
  expect(report.stages[399]?.stage).toBe(`stage_399_${'x'.repeat(200)}`);
});

it('a command name that is a property of every object ("constructor", "__proto__") is an unknown command, exit 2', async () => {
  // the command table was a plain object: `spillway constructor` found Object and crashed with an internal error
  const dir = writeProject({ 'pipeline.yaml': 'stages: {}\n' });
  for (const name of ['constructor', '__proto__', 'toString']) {
    const r = await cli([name], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^spillway: unknown command "${name}"\\n\\nusage: spillway <command>`));
  }
});
