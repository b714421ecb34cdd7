// spillway gc: removes the store objects nothing keeps (see src/engine/gc.ts for the keep scopes).
import { ExitCode, SpillwayError } from '../../errors.js';
import { collectGarbage } from '../../engine/gc.js';
import { acquireProjectLock } from '../../engine/project-lock.js';
import { bytes } from '../../provenance/lineage.js';
import { projectFromPipelineFile, readLock } from '../../provenance/project.js';
import { parseCommandArgs } from '../args.js';

export const help = `usage: spillway gc [options]

Removes objects from the store (artifacts/objects/) that nothing keeps. Always kept: every output the lockfile
(and any other spillway lockfile at the project root) records, and every content hash named in an experiment
record under .spillway/experiments/. Run-cache entries whose outputs are removed are removed too.
Takes the project lock, so it never removes an object a running \`spillway run\` may read.

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml); its lockfile must exist
      --keep-runs N    also keep the outputs of each stage's N most recent runs in the run cache (default 0)
      --no-experiments do not keep what experiment records name
  -n, --dry-run        list what would be removed; remove nothing
      --wait           wait for a running spillway to release the project lock instead of failing
      --json           print {"dry_run", "kept", "removed", "scopes", "objects"}
  -h, --help           this text`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    'gc',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      'keep-runs': { type: 'string', default: '0' },
      'no-experiments': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', short: 'n', default: false },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    help,
  );
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  const keepRuns = Number(values['keep-runs']);
  if (!Number.isInteger(keepRuns) || keepRuns < 0) throw new SpillwayError('usage', `--keep-runs expects a whole number ≥ 0, got "${values['keep-runs']}"`);
  const project = projectFromPipelineFile(values.file as string);
  // no lockfile: gc would keep nothing, which is never what anyone means
  await readLock(project);
  const release = await acquireProjectLock(project.root, { command: 'gc', wait: values.wait as boolean });
  let report;
  try {
    report = collectGarbage(project.root, { keepRuns, keepExperiments: !values['no-experiments'], dryRun: values['dry-run'] as boolean });
  } finally {
    release();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return ExitCode.ok;
  }
  const verb = report.dry_run ? 'would remove' : 'removed';
  const lines = [
    `${verb} ${report.removed.objects} object(s), ${bytes(report.removed.bytes)}` +
      (report.removed.run_cache_entries ? `, ${report.removed.run_cache_entries} run-cache entr${report.removed.run_cache_entries === 1 ? 'y' : 'ies'}` : '') +
      (report.removed.temp_files ? `, ${report.removed.temp_files} stray temp file(s)` : ''),
    `kept ${report.kept.objects} object(s), ${bytes(report.kept.bytes)}:`,
    ...report.scopes.map((s) => `  ${s.name.padEnd(11)} ${String(s.objects).padStart(5)} object(s) named by ${s.sources.length ? (s.sources.length > 3 ? `${s.sources.length} file(s)` : s.sources.join(', ')) : 'nothing'}`),
  ];
  if (report.dry_run) lines.push(...report.objects.slice(0, 20).map((o) => `  - ${o}`), ...(report.objects.length > 20 ? [`  … and ${report.objects.length - 20} more (--json lists all)`] : []));
  process.stdout.write(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}
