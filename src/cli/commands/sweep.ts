// spillway sweep: run a grid of param overrides (and explicit variants) as experiments sharing one store.
import { dirname, resolve } from 'node:path';
import { ExitCode, SpillwayError } from '../../errors.js';
import type { Executor } from '../../engine/executor.js';
import type { ExperimentRecord } from '../../engine/experiments.js';
import { loadSweepFile, parseGridArg, parseValue, parseVariantArg, runSweep, type SweepEvent, type SweepSpec } from '../../engine/sweep.js';
import { colorEnabled, executorNamed, formatDuration, paint, parseCommandArgs, parseJobs } from '../args.js';

export const help = `usage: spillway sweep [SWEEP_FILE] [options]

Runs every variant of a grid of param overrides as an experiment (spillway exp show). Variants share the store:
a stage whose code, declared params and inputs are equal across variants runs once. The project's pipeline.lock and
outputs are not touched (spillway exp apply ID materializes one variant). Running a sweep again resumes it: finished
variants are restored by key without executing anything, and a failed variant does not stop the others.

SWEEP_FILE is a YAML file such as sweeps/robustness.yaml:
  grid: { classify.top_share: [0.2, 0.25], lag.years: [1, 2] }   # Cartesian, first key slowest
  variants: [{ classify.criterion: nano_patents }]                # explicit, after the grid
  targets: [estimate]                                             # stages to build (default: all)
  set: { ingest.years: [1999, 2001] }                             # applied to every variant first

options:
  -f, --file FILE            pipeline file (default: ./pipeline.yaml)
  -g, --grid KEY=V1,V2       a grid axis (repeatable; values read as YAML scalars)
      --variant 'K=V,K2=V2'  an explicit variant (repeatable)
  -t, --target STAGE         build only STAGE and what it needs (repeatable)
      --set KEY=VALUE        an override every variant starts from (repeatable; a variant's own value wins)
      --name NAME            the sweep's name in the experiment records (default: the file's name, or "cli")
  -j, --jobs N               variants at once (default: number of cores; with slurm: max_jobs)
  -x, --executor NAME        who runs the stages: workers (default), local (a fresh process per stage), or slurm
                             (SLURM jobs, one executor for the whole sweep: the variants' ready stages go out
                             together as job arrays; spillway.config.yaml, docs/cluster.md)
      --summary PATH         write the sweep's summary file here (default: the sweep file's summary:, if any)
      --wait                 if another run holds the project lock, wait for it
      --json                 print the summary as JSON on stdout
  -h, --help                 this text

exit codes: 0 every variant succeeded, 1 some variant failed (the others finished), 2 usage, 3 invalid pipeline or
sweep file, 5 project locked, 130 interrupted (run the same sweep again to resume)`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'sweep',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      grid: { type: 'string', short: 'g', multiple: true, default: [] },
      variant: { type: 'string', multiple: true, default: [] },
      target: { type: 'string', short: 't', multiple: true, default: [] },
      set: { type: 'string', multiple: true, default: [] },
      name: { type: 'string' },
      summary: { type: 'string' },
      jobs: { type: 'string', short: 'j' },
      executor: { type: 'string', short: 'x', default: 'workers' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    help,
  );
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  if (positionals.length > 1) throw new SpillwayError('usage', 'sweep takes at most one SWEEP_FILE', { hint: 'see `spillway sweep --help`' });
  const spec: SweepSpec = positionals.length === 1 ? await loadSweepFile(resolve(positionals[0])) : { name: 'cli', grid: Object.create(null) as Record<string, unknown[]>, variants: [], targets: [] };
  for (const g of values.grid as string[]) {
    const [key, list] = await parseGridArg(g);
    spec.grid[key] = list;
  }
  for (const v of values.variant as string[]) spec.variants.push(await parseVariantArg(v));
  for (const v of values.set as string[]) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new SpillwayError('usage', `--set expects key=value, got "${v}"`, { hint: 'e.g. --set lag.years=2' });
    spec.set = { ...spec.set, [v.slice(0, eq).trim()]: await parseValue(v.slice(eq + 1)) };
  }
  if ((values.target as string[]).length > 0) spec.targets = values.target as string[];
  if (values.name) spec.name = values.name as string;
  if (values.summary) spec.summary = values.summary as string;

  const json = values.json === true;
  const executor = await sweepExecutor(values.executor as string, dirname(resolve(values.file as string)));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  const progress = json ? undefined : sweepProgress(process.stderr);
  try {
    const report = await runSweep({
      pipelineFile: values.file as string,
      spec,
      jobs: parseJobs(values.jobs as string | undefined) ?? (executor !== undefined && typeof executor !== 'function' ? executor.maxParallel : undefined),
      ...(executor ? { executor } : {}),
      wait: values.wait === true,
      signal: controller.signal,
      onEvent: progress?.onEvent,
    });
    progress?.stop();
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const saved = report.stage_runs - report.executions;
      process.stderr.write(
        `sweep ${report.name}: ${report.variants} variants, ${report.succeeded} ok, ${report.failed} failed${report.interrupted ? ', interrupted' : ''}; ` +
          `${report.executions} stage executions for ${report.stage_runs} stage runs (${saved} saved by sharing), ${formatDuration(report.duration_ms)}\n`,
      );
      if (report.summary) process.stderr.write(`summary: ${report.summary}\n`);
    }
    if (report.interrupted) return ExitCode.interrupted;
    return report.ok ? ExitCode.ok : ExitCode.stageFailed;
  } finally {
    if (executor !== undefined && typeof executor !== 'function') await executor.close();
    progress?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** --executor: one SLURM executor for the whole sweep; a local executor per variant (its workspace); undefined for workers. */
async function sweepExecutor(name: string, projectRoot: string): Promise<(Executor & { maxParallel?: number }) | ((root: string) => Executor) | undefined> {
  // local: a fresh process per stage, rooted in each variant's own workspace
  if (name === 'local') {
    const { LocalExecutor } = await import('../../engine/executors/local.js');
    return (root: string) => new LocalExecutor(root);
  }
  return executorNamed(name, projectRoot, 'sweep');
}

/** Live status line on a terminal (variants done/running/cached/failed, executions saved, ETA); plain lines otherwise. */
function sweepProgress(stream: NodeJS.WriteStream): { onEvent: (e: SweepEvent) => void; stop: () => void } {
  const live = stream.isTTY === true && process.env.TERM !== 'dumb';
  const color = paint(colorEnabled(stream));
  let total = 0;
  let jobs = 1;
  let perVariant = 0;
  let done = 0;
  let running = 0;
  let cached = 0;
  let failed = 0;
  let executions = 0;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let shown = false;
  const status = () => {
    const elapsed = performance.now() - started;
    const eta = done > 0 && done < total ? ` · ETA ${formatDuration(((elapsed / done) * (total - done)))}` : '';
    const saved = done * perVariant - executions;
    return `sweep ${done}/${total} done · ${running} running · ${cached} cached · ${failed > 0 ? color.red(`${failed} failed`) : '0 failed'} · ${executions} executions, ${saved} saved${eta}`;
  };
  const draw = () => {
    if (!live) return;
    stream.write(`\r\x1b[2K${status()}`);
    shown = true;
  };
  const line = (text: string) => {
    if (live && shown) stream.write('\r\x1b[2K');
    stream.write(`${text}\n`);
    draw();
  };
  const describe = (r: ExperimentRecord) => (r.changed.length === 0 ? '(defaults)' : r.changed.map((k) => `${k}=${JSON.stringify(r.params[k])}`).join(' '));
  return {
    onEvent(e) {
      if (e.type === 'plan') {
        total = e.variants;
        jobs = e.jobs;
        perVariant = e.stagesPerVariant;
        if (!live) stream.write(`sweep: ${total} variants, ${jobs} at a time\n`);
        if (live) timer = setInterval(draw, 250);
      } else if (e.type === 'variant-start') {
        running++;
        draw();
      } else if (e.type === 'variant-end') {
        running--;
        done++;
        executions += e.record.executions;
        if (e.record.status === 'failed') failed++;
        else if (e.record.executions === 0 && e.record.status === 'ok') cached++;
        const mark = e.record.status === 'ok' ? (e.record.executions === 0 ? color.dim('cached') : color.green('ok')) : color.red(e.record.status);
        const failure = e.record.failure?.[0] ? `: ${e.record.failure[0].stage}: ${e.record.failure[0].message.split('\n')[0]}` : '';
        const text = `${e.record.id} ${mark} ${e.record.executions} ran ${formatDuration(e.record.duration_ms ?? 0)} ${describe(e.record)}${failure}`;
        if (live) line(text);
        else stream.write(`[${done}/${total}] ${text}\n`);
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (live && shown) {
        stream.write(`\r\x1b[2K`);
        shown = false;
      }
    },
  };
}
