// spillway watch [STAGE...]: re-run what is affected whenever code, params or data change.
import { ExitCode } from '../../errors.js';
import { formatWatchEvent } from '../../watch/format.js';
import { WatchSession } from '../../watch/session.js';
import { colorEnabled, paint, parseCommandArgs, parseJobs } from '../args.js';

export const help = `usage: spillway watch [STAGE...] [options]

Runs the pipeline (or the named stages and what they need), then watches everything that enters a stage's key:
the pipeline file, stage code and the local files it imports, schemas, deps and dep globs (files created later
that match a glob count too). After a change and a quiet period it runs again; only stages whose key changed
re-run. Changes that arrive during a run are coalesced into one follow-up run. A failing stage or an invalid
pipeline file is reported and watching goes on. Ctrl-C stops (a stage under way is interrupted; every finished
stage is kept in the store and the lockfile).

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml)
  -j, --jobs N         run up to N independent stages at once (default: number of cores)
      --set KEY=VALUE  override a param for these runs (repeatable)
      --debounce MS    quiet period after the last change before a run (default 200)
      --json           one JSON object per line: {"event":"run",…} per run, plus "ready" and "stopped"
  -h, --help           this text`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'watch',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      jobs: { type: 'string', short: 'j' },
      set: { type: 'string', multiple: true, default: [] },
      debounce: { type: 'string', default: '200' },
      json: { type: 'boolean', default: false },
    },
    help,
  );
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  const debounceMs = Number(values.debounce);
  if (!Number.isFinite(debounceMs) || debounceMs < 0) {
    const { SpillwayError } = await import('../../errors.js');
    throw new SpillwayError('usage', `--debounce expects a number of milliseconds, got "${String(values.debounce)}"`);
  }
  const json = values.json === true;
  const colors = paint(colorEnabled(process.stdout));
  const painter = { red: colors.red, green: colors.green, dim: colors.dim, bold: colors.bold };
  const session = new WatchSession({
    pipelineFile: values.file as string,
    targets: positionals,
    jobs: parseJobs(values.jobs as string | undefined),
    overrides: values.set as string[],
    debounceMs,
    onEvent: (event) => {
      const text = json ? JSON.stringify(event) : formatWatchEvent(event, painter);
      if (text) process.stdout.write(`${text}\n`);
    },
  });

  return new Promise<number>((resolve, reject) => {
    let interrupts = 0;
    const onSignal = () => {
      interrupts++;
      // a second Ctrl-C while the first is still stopping: leave now (finished stages are already recorded)
      if (interrupts > 1) process.exit(130);
      session.stop().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve(ExitCode.ok);
      }, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    session.start().catch((error) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void session.stop();
      reject(error);
    });
  });
}
