// What the no-op record's tests share (test/engine/noop-record.test.ts, test/faults/session25-noop-record.test.ts):
// the real CLI's `run --json`, projects dated back past the racy window, and a no-op that writes its record.
import { spawnSync } from 'node:child_process';
import { existsSync, lutimesSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { bin } from './helpers.js';

export interface RunReport {
  ok: boolean;
  from_record?: boolean;
  stages: { stage: string; status: string; key: string; reason: string; duration_ms: number; restored?: boolean; outputs?: Record<string, string>; timings?: Record<string, number> }[];
}

/** `spillway run --json ARGS` in `dir` (the bundled CLI unless `env` says otherwise): exit code, stderr and report. */
export function runJson(dir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, 'run', '--json', ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', SPILLWAY_NO_BUNDLE: '', ...env }, encoding: 'utf8' });
  let report: RunReport | undefined;
  try {
    report = JSON.parse(r.stdout) as RunReport;
  } catch {
    report = undefined;
  }
  return { code: r.status, stderr: r.stderr, report };
}

/** Every file, directory and symlink of the project but .spillway dated a minute back: past the racy window. */
export function age(dir: string): void {
  const past = new Date(Date.now() - 60_000);
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.spillway') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      if (e.isSymbolicLink()) lutimesSync(p, past, past);
      else utimesSync(p, past, past);
    }
  };
  walk(dir);
  utimesSync(dir, past, past);
}

/** The project's no-op records (file names in .spillway). */
export const records = (dir: string): string[] => (existsSync(join(dir, '.spillway')) ? readdirSync(join(dir, '.spillway')).filter((n) => n.startsWith('noop-record-')) : []);

export function dropRecords(dir: string): void {
  for (const name of records(dir)) rmSync(join(dir, '.spillway', name));
}

/**
 * Runs the pipeline (unless `first` is false), drops its records, dates it back, and runs the no-op that writes the
 * record for `args`; checks that the run after it is answered by the record. Returns the engine's no-op report.
 */
export function recordedNoop(dir: string, { args = [], env = {}, first = true }: { args?: string[]; env?: NodeJS.ProcessEnv; first?: boolean } = {}): RunReport {
  if (first) {
    const r = runJson(dir, args, env);
    expect(r.code, r.stderr).toBe(0);
  }
  dropRecords(dir);
  age(dir);
  // the first no-op after the schemas were dated back parses the pipeline again (ajv, loaded through node's ES module
  // loader, which the recorder cannot follow): the next one records
  const debug = { ...env, SPILLWAY_DEBUG_NOOP_RECORD: '1' };
  let noop = runJson(dir, args, debug);
  if (records(dir).length === 0) {
    expect(noop.stderr).toMatch(/no-op record not written: fs\.promises/);
    noop = runJson(dir, args, debug);
  }
  expect(noop.code, noop.stderr).toBe(0);
  expect(noop.report?.from_record).toBeUndefined();
  expect(noop.report?.stages.every((s) => s.status === 'cached')).toBe(true);
  expect(records(dir), noop.stderr).toHaveLength(1);
  expect(runJson(dir, args, env).report?.from_record).toBe(true);
  return noop.report as RunReport;
}
