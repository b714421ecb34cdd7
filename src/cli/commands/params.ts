// spillway params diff: the working params (pipeline.yaml plus --set) against the values a lockfile recorded.
import { resolve } from 'node:path';
import { ExitCode, SpillwayError } from '../../errors.js';
import { findRecord } from '../../engine/experiments.js';
import { canonicalJson } from '../../engine/hash.js';
import { readLockfile } from '../../engine/lockfile.js';
import { loadPipeline } from '../../engine/pipeline.js';
import { getDotted } from '../../engine/stage-context.js';
import { parseCommandArgs } from '../args.js';

export const help = `usage: spillway params diff [options]

Lists every declared param whose working value (pipeline.yaml, plus --set) differs from the value the lockfile
recorded for the stages that declare it; also params a stage declares now but did not then.

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml)
      --set KEY=VALUE  compare as if this param were overridden (repeatable)
      --exp ID         compare with an experiment's lockfile instead of pipeline.lock
      --json           print {"lockfile", "params": [{key, locked, working, stages}]}
      --exit-code      exit with 6 when anything differs
  -h, --help           this text`;

export interface ParamDifference {
  key: string;
  /** the recorded value (undefined: the stages did not declare it then) */
  locked: unknown;
  working: unknown;
  stages: string[];
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'params',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      set: { type: 'string', multiple: true, default: [] },
      exp: { type: 'string' },
      json: { type: 'boolean', default: false },
      'exit-code': { type: 'boolean', default: false },
    },
    help,
  );
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  if (positionals[0] !== 'diff' || positionals.length !== 1) throw new SpillwayError('usage', 'params takes the subcommand diff', { expected: 'spillway params diff [--exp ID]' });
  const pipeline = await loadPipeline(values.file as string, { overrides: values.set as string[] });
  const lockFile = values.exp ? resolve(pipeline.root, findRecord(pipeline.root, values.exp as string).lockfile) : pipeline.lockFile;
  const lock = readLockfile(pipeline.root, lockFile);
  if (lock === undefined) throw new SpillwayError('usage', `no lockfile at ${lockFile}`, { hint: 'run the pipeline first (spillway run)' });
  const byKey = new Map<string, ParamDifference>();
  for (const name of pipeline.order) {
    const stage = pipeline.stages[name];
    const entry = lock.stages[name];
    if (!entry) continue;
    for (const key of stage.params) {
      const working = stage.instance && Object.hasOwn(stage.instance.params, key) ? stage.instance.params[key] : getDotted(pipeline.params, key).value;
      const locked = Object.hasOwn(entry.params, key) ? entry.params[key] : undefined;
      if (locked !== undefined && canonicalJson(locked) === canonicalJson(working)) continue;
      const id = `${key}\0${canonicalJson(locked ?? null)}\0${canonicalJson(working)}`;
      const d = byKey.get(id) ?? { key, locked, working, stages: [] };
      d.stages.push(name);
      byKey.set(id, d);
    }
  }
  const diffs = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const shown = (v: unknown) => (v === undefined ? '(not declared)' : canonicalJson(v));
  if (values.json) process.stdout.write(`${JSON.stringify({ lockfile: lockFile, params: diffs.map((d) => ({ ...d, locked: d.locked ?? null, declared: d.locked !== undefined })) })}\n`);
  else if (diffs.length === 0) process.stdout.write('the working params equal the lockfile\n');
  else {
    const rows = diffs.map((d) => [d.key, shown(d.locked), canonicalJson(d.working), d.stages.join(', ')]);
    const header = ['param', 'lockfile', 'working', 'stages'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}\n`);
  }
  return values['exit-code'] && diffs.length > 0 ? ExitCode.auditFailed : ExitCode.ok;
}
