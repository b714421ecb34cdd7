// spillway run [STAGE...]: run the targets and what they need, re-using every stage whose key is unchanged.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ExitCode } from '../../errors.js';
import { expandGlob } from '../../engine/glob.js';
import { startNoopRecording, type NoopRecorder } from '../../engine/noop-record.js';
import { loadPipeline, pipelineLoads, type Pipeline } from '../../engine/pipeline.js';
import { runPipeline, type RunEvent } from '../../engine/runner.js';
import { executorNamed, parseJobs } from '../args.js';
import { runOutcome, stderrSink } from '../output.js';
import { help, noopRecordKey, parseRunArgs, printRunReport, recordedStages, replayFromRecord, type Warning } from '../run-report.js';

export { help };

export async function main(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  const { values, positionals } = args;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  // A run with the options of a no-op before it first checks that no-op's record (src/engine/noop-record.ts): when
  // every file and variable the no-op looked at is as it was, its report is this run's, without deciding again.
  // (bin/spillway.js checks it first, from a bundle of its own; this is for the unbundled CLI.)
  const replayed = await replayFromRecord(args);
  if (replayed !== undefined) return replayed;
  const json = values.json === true;
  const file = values.file as string;
  const root = dirname(resolve(file));
  const recordKey = noopRecordKey(args);
  const executor = await executorNamed(values.executor as string, root, 'run');
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  const started = process.uptime() * 1000;
  let progress: import('../progress.js').Progress | undefined;
  const stderr = json ? undefined : stderrSink();
  if (stderr) progress = (await import('../progress.js')).createProgress(stderr);
  let recorder: NoopRecorder | undefined;
  try {
    const warnings: Warning[] = [];
    // What this run looks at is recorded: if it turns out a no-op, the next run with these options checks that alone.
    recorder = recordKey !== undefined ? await startNoopRecording(root) : undefined;
    const pipeline = await loadPipeline(file, { overrides: values.set as string[] });
    const checks: Promise<void>[] = [];
    const onEvent = (e: RunEvent) => {
      // A stage about to run on a dep glob that matches nothing computes from nothing: say so.
      if (e.type === 'stage-start') checks.push(emptyGlobs(pipeline, e.stage).then((found) => void warnings.push(...found)));
      if (e.type === 'plan') recorder?.mark('');
      if (e.type === 'stage-end') recorder?.mark(e.report.stage);
      progress?.onEvent(e);
    };
    const report = await runPipeline({
      pipeline,
      pipelineFile: file,
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
    recorder?.stop();
    const noop = report.ok && !report.interrupted && report.stages.every((s) => s.status === 'cached' && s.restored !== true && (s.repairs ?? []).length === 0);
    // (and parsed no pipeline: the code cache of a run that did would carry the parser's functions into every no-op)
    runOutcome.didNothing = noop && pipelineLoads.parsed === 0;
    const saved = noop && warnings.length === 0 && recorder !== undefined && recorder.save(recordKey as string, recordedStages(report));
    // why a run left no record (docs/cli.md, "The no-op record"), on stderr
    if (process.env.SPILLWAY_DEBUG_NOOP_RECORD) {
      const why = saved ? 'written' : `not written: ${!noop ? 'not a no-op' : warnings.length > 0 ? 'warnings' : (recorder?.unusable() ?? 'the project is not writable')}`;
      writeFileSync(2, `no-op record ${why}\n`);
    }
    return printRunReport(report, { json, stderr, progress, warnings, started });
  } finally {
    recorder?.stop();
    await executor?.close();
    progress?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
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

