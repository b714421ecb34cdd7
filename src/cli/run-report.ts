// What `spillway run` shares with its no-op check (main-noop.ts, bundled apart so that a no-op loads little): its
// options, the no-op record's key, the replay of a record, and the printing of a run's report.
import { dirname, resolve } from 'node:path';
import { ExitCode } from '../errors.js';
import { engineBuild } from '../engine/build.js';
import { checkNoopRecord, type NoopReplay } from '../engine/noop-record.js';
import type { RunReport, StageReport } from '../engine/runner.js';
import { colorEnabled, formatDuration, paint, parseCommandArgs } from './args.js';
import { runOutcome, stderrSink, writeStdout, type TextSink } from './output.js';
import type { Progress } from './progress.js';

export const help = `usage: spillway run [STAGE...] [options]

Runs the named stages and everything they need (default: every stage). A stage whose key (code, declared params,
deps, inputs) matches the lockfile is not re-run.

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml)
  -j, --jobs N         run up to N independent stages at once (default: number of cores; with slurm: max_jobs)
  -x, --executor NAME  who runs the stages: workers (default: module stages in warm worker processes), local (a
                       fresh process per stage), or slurm (SLURM jobs; spillway.config.yaml, docs/cluster.md)
  -n, --dry-run        say what would run and why, run nothing
      --force          re-run the selected stages even when cached
      --set KEY=VALUE  override a param for this run (repeatable; VALUE is read as YAML: 0.3, true, [a, b])
      --wait           if another run holds the project lock, wait for it instead of failing
      --json           print {"ok", "stages": [{stage, status, key, duration_ms, reason, error?}],
                       "warnings"?: [{stage, pattern, message}], "from_record"?: true (docs/cli.md, "The no-op record")}
  -h, --help           this text

exit codes: 0 ok, 1 a stage failed, 2 usage, 3 invalid pipeline.yaml, 4 every failure was bad input,
5 project locked, 7 every failure was non-convergence, 130 interrupted (see docs/cli.md)`;

export function parseRunArgs(argv: string[]) {
  return parseCommandArgs(
    'run',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      jobs: { type: 'string', short: 'j' },
      executor: { type: 'string', short: 'x', default: 'workers' },
      'dry-run': { type: 'boolean', short: 'n', default: false },
      force: { type: 'boolean', default: false },
      set: { type: 'string', multiple: true, default: [] },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    help,
  );
}

export type RunArgs = ReturnType<typeof parseRunArgs>;

export interface Warning {
  stage: string;
  pattern: string;
  message: string;
}

/**
 * The key of the no-op record for these options (src/engine/noop-record.ts): the engine's build, node, the working
 * directory and every option that can change what the engine decides (not --json, --jobs or --wait, which change only
 * how it is shown, how fast, or what happens while the project is locked, when no record is used). Undefined for
 * --force (never a no-op) and slurm (its executor asks the cluster, which no record observes).
 */
export function noopRecordKey({ values, positionals }: RunArgs): string | undefined {
  if (values.force === true || values.executor === 'slurm') return undefined;
  const file = resolve(values.file as string);
  return JSON.stringify({ engine: engineBuild(), node: process.version, platform: process.platform, arch: process.arch, cwd: process.cwd(), file, targets: positionals, executor: values.executor, dryRun: values['dry-run'], set: values.set });
}

/**
 * A no-op by record: when the record for these options holds, its report is printed (each stage timed by checking
 * what deciding it looked at) and the exit code returned; undefined when there is no record, or it does not hold.
 */
export async function replayFromRecord(args: RunArgs): Promise<number | undefined> {
  const key = noopRecordKey(args);
  if (key === undefined) return undefined;
  const started = process.uptime() * 1000;
  const replay = checkNoopRecord<StageReport[]>(dirname(resolve(args.values.file as string)), key, () => process.uptime() * 1000);
  if (replay === undefined) return undefined;
  runOutcome.didNothing = true;
  runOutcome.fromRecord = true;
  const json = args.values.json === true;
  const stderr = json ? undefined : stderrSink();
  const progress = stderr ? (await import('./progress.js')).createProgress(stderr) : undefined;
  const report: RunReport = { ok: true, stages: replayedStages(replay) };
  progress?.onEvent({ type: 'plan', stages: report.stages.map((s) => s.stage), jobs: 1 });
  for (const stage of report.stages) progress?.onEvent({ type: 'stage-end', report: stage });
  return printRunReport(report, { json, stderr, progress, warnings: [], started, fromRecord: true });
}

/** The recorded stage reports, timed by this check: a stage's time is checking what deciding it looked at. */
function replayedStages(replay: NoopReplay<StageReport[]>): StageReport[] {
  const tenth = (ms: number) => Math.round(ms * 10) / 10;
  return replay.payload.map((stage) => {
    const phase = replay.phases.find((p) => p.label === stage.stage);
    const start = phase?.start_ms ?? 0;
    const end = phase?.end_ms ?? start;
    return { ...stage, duration_ms: Math.round(end - start), timings: { start_ms: tenth(start), decide_ms: tenth(end - start), restore_ms: 0, end_ms: tenth(end) } };
  });
}

/** The stage reports a no-op record keeps: without its timings (the check that uses it times itself). */
export function recordedStages(report: RunReport): StageReport[] {
  return report.stages.map(({ timings: _t, ...rest }) => ({ ...rest, duration_ms: 0 }));
}

/** Prints a run's report (JSON on stdout, or lines on stderr) and returns the run's exit code. */
export function printRunReport(
  report: RunReport,
  options: { json: boolean; stderr: TextSink | undefined; progress: Progress | undefined; warnings: Warning[]; started: number; fromRecord?: boolean },
): number {
  const { json, stderr, progress, warnings, started, fromRecord } = options;
  progress?.stop();
  if (json) {
    const stages = report.stages.map(({ reasons: _r, ...rest }) => rest);
    writeStdout(`${JSON.stringify({ ok: report.ok, ...(report.interrupted ? { interrupted: true } : {}), stages, ...(warnings.length ? { warnings } : {}), ...(fromRecord ? { from_record: true } : {}) })}\n`);
  } else if (stderr) {
    const color = paint(colorEnabled(stderr));
    for (const w of warnings) stderr.write(`${color.yellow('warning:')} ${w.message}\n`);
    for (const s of report.stages.filter((x) => x.status === 'failed')) {
      const body = (s.error ?? '').split('\n').map((l) => `  ${l}`).join('\n');
      stderr.write(`\n${color.red(`stage ${s.stage} failed:`)}\n${body}\n`);
    }
    const counts = new Map<string, number>();
    for (const s of report.stages) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
    const how = fromRecord ? ', checked against the no-op record' : '';
    stderr.write(`${report.stages.length} stage${report.stages.length === 1 ? '' : 's'}: ${summary} (${formatDuration(process.uptime() * 1000 - started)}${how})\n`);
  }
  if (report.interrupted) return ExitCode.interrupted;
  if (report.ok) return ExitCode.ok;
  // When every failure is of one kind the exit code says which (4: bad input data, 7: no convergence); else 1.
  const kinds = new Set(report.stages.filter((s) => s.status === 'failed').map((s) => s.error_kind));
  const [only] = [...kinds];
  if (kinds.size === 1 && (only === 'invalidInput' || only === 'notConverged')) return ExitCode[only];
  return ExitCode.stageFailed;
}
