// spillway run [STAGE...]: run the targets and what they need, re-using every stage whose key is unchanged.
import { dirname, resolve } from 'node:path';
import { ExitCode, SpillwayError } from '../../errors.js';
import { expandGlob } from '../../engine/glob.js';
import { loadPipeline, pipelineLoads, type Pipeline } from '../../engine/pipeline.js';
import { runPipeline, type RunEvent } from '../../engine/runner.js';
import { colorEnabled, executorNamed, formatDuration, paint, parseCommandArgs, parseJobs } from '../args.js';
import { runOutcome, stderrSink, writeStdout } from '../output.js';

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
      --json           print {"ok", "stages": [{stage, status, key, duration_ms, reason, error?}], "warnings"?: [{stage, pattern, message}]}
  -h, --help           this text

exit codes: 0 ok, 1 a stage failed, 2 usage, 3 invalid pipeline.yaml, 4 every failure was bad input,
5 project locked, 7 every failure was non-convergence, 130 interrupted (see docs/cli.md)`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
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
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  const json = values.json === true;
  const executor = await executorNamed(values.executor as string, dirname(resolve(values.file as string)), 'run');
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  const started = process.uptime() * 1000;
  let progress: import('../progress.js').Progress | undefined;
  const stderr = json ? undefined : stderrSink();
  if (stderr) progress = (await import('../progress.js')).createProgress(stderr);
  try {
    const pipeline = await loadPipeline(values.file as string, { overrides: values.set as string[] });
    const warnings: Warning[] = [];
    const checks: Promise<void>[] = [];
    const onEvent = (e: RunEvent) => {
      // A stage about to run on a dep glob that matches nothing computes from nothing: say so.
      if (e.type === 'stage-start') checks.push(emptyGlobs(pipeline, e.stage).then((found) => void warnings.push(...found)));
      progress?.onEvent(e);
    };
    const report = await runPipeline({
      pipeline,
      pipelineFile: values.file as string,
      targets: positionals,
      jobs: parseJobs(values.jobs as string | undefined) ?? (executor as { maxParallel?: number } | undefined)?.maxParallel,
      ...(executor ? { executor } : {}),
      force: values.force === true,
      dryRun: values['dry-run'] === true,
      overrides: values.set as string[],
      wait: values.wait === true,
      signal: controller.signal,
      onEvent,
    });
    await Promise.all(checks);
    // (and parsed no pipeline: the code cache of a run that did would carry the parser's functions into every no-op)
    runOutcome.didNothing = pipelineLoads.parsed === 0 && report.ok && report.stages.every((s) => s.status === 'cached' && s.restored !== true && (s.repairs ?? []).length === 0);
    progress?.stop();
    if (json) {
      const stages = report.stages.map(({ reasons: _r, ...rest }) => rest);
      writeStdout(`${JSON.stringify({ ok: report.ok, ...(report.interrupted ? { interrupted: true } : {}), stages, ...(warnings.length ? { warnings } : {}) })}\n`);
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
      stderr.write(`${report.stages.length} stage${report.stages.length === 1 ? '' : 's'}: ${summary} (${formatDuration(process.uptime() * 1000 - started)})\n`);
    }
    if (report.interrupted) return ExitCode.interrupted;
    if (report.ok) return ExitCode.ok;
    // When every failure is of one kind the exit code says which (4: bad input data, 7: no convergence); else 1.
    const kinds = new Set(report.stages.filter((s) => s.status === 'failed').map((s) => s.error_kind));
    const [only] = [...kinds];
    if (kinds.size === 1 && (only === 'invalidInput' || only === 'notConverged')) return ExitCode[only];
    return ExitCode.stageFailed;
  } finally {
    await executor?.close();
    progress?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

interface Warning {
  stage: string;
  pattern: string;
  message: string;
}

async function emptyGlobs(pipeline: Pipeline, name: string): Promise<Warning[]> {
  const stage = Object.hasOwn(pipeline.stages, name) ? pipeline.stages[name] : undefined;
  const found: Warning[] = [];
  for (const pattern of stage?.deps ?? []) {
    if (!/[*?[\]{}]/.test(pattern)) continue; // what the engine treats as a glob (GLOB_CHARS in engine/code.ts)
    if (stage?.optionalDeps?.includes(pattern)) continue; // declared under optional_deps: may match nothing
    const { matches } = await expandGlob(pipeline.root, pattern, undefined);
    if (matches.length === 0) found.push({ stage: name, pattern, message: `stage ${name}: dep pattern "${pattern}" matches no file, so the stage runs without any` });
  }
  return found;
}

