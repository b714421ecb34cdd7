// spillway status: which stages are stale, and why, component by component against the lockfile.
import { ExitCode } from '../../errors.js';
import { stageStatus } from '../../engine/status.js';
import { colorEnabled, paint, parseCommandArgs } from '../args.js';
import { writeStdout } from '../output.js';

export const help = `usage: spillway status [STAGE...] [options]

Lists every stage (or the named ones and what they need) with its state against the lockfile:
up-to-date, stale (with the changed code file, dep, input or param old → new), upstream-stale, or
restorable (an earlier run with the same key is in the run cache).

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml)
      --set KEY=VALUE  evaluate as if this param were overridden (repeatable)
      --json           print {"pipeline", "stale", "stages": [{stage, state, key, reason, reasons}]}
      --exit-code      exit with 6 when any stage is not up to date
  -h, --help           this text`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'status',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      set: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      'exit-code': { type: 'boolean', default: false },
    },
    help,
  );
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  const report = await stageStatus(values.file as string, { overrides: values.set as string[], targets: positionals });
  if (values.json) {
    writeStdout(`${JSON.stringify(report)}\n`);
  } else {
    const color = paint(colorEnabled(process.stdout));
    const width = Math.max(0, ...report.stages.map((s) => s.stage.length));
    for (const s of report.stages) {
      const label =
        s.state === 'up-to-date' ? color.green('up to date') : s.state === 'stale' ? color.yellow('stale') : s.state === 'restorable' ? color.cyan('restorable') : color.yellow('upstream stale');
      process.stdout.write(`${s.stage.padEnd(width)}  ${label}\n`);
      if (s.state !== 'up-to-date') for (const r of s.reasons) process.stdout.write(`${' '.repeat(width)}    ${color.dim('-')} ${r.message}\n`);
      if (s.error) process.stdout.write(`${' '.repeat(width)}    ${color.red('!')} ${s.error.split('\n').join(`\n${' '.repeat(width + 6)}`)}\n`);
    }
    process.stdout.write(report.stale === 0 ? 'everything is up to date\n' : `${report.stale} of ${report.stages.length} stages not up to date\n`);
  }
  return values['exit-code'] && report.stale > 0 ? ExitCode.auditFailed : ExitCode.ok;
}
