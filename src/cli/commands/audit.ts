// spillway audit [-f pipeline.yaml] [--json]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ExitCode, SpillwayError } from '../../errors.js';
import { audit, isFailing, type AuditFinding, type AuditReport } from '../../provenance/audit.js';
import { PACKAGE_MANIFEST, type PackageManifest } from '../../provenance/export.js';
import { loadPipelineView } from '../../provenance/pipeline-view.js';
import { projectFromPipelineFile } from '../../provenance/project.js';

const HELP = `usage: spillway audit [-f FILE] [--json]

Re-hashes every artifact the lockfile names (readable copies and store objects), every dep and every code file, and
compares the param values, dep globs, code files and imported npm package versions of the pipeline now with what
the lockfile recorded.
Exit status 0 only when everything matches; ${ExitCode.auditFailed} otherwise.

  -f, --file FILE   pipeline file (default ./pipeline.yaml); its lockfile is FILE with .lock
      --json        print the report as one JSON object
`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseOrUsage(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return ExitCode.ok;
  }
  const project = projectFromPipelineFile(values.file ?? 'pipeline.yaml');
  const packaged = await readPackageManifest(project.root);
  const loaded = await loadPipelineView(project.pipelineFile);
  const report = await audit(project, {
    depsNotPackaged: packaged ? !packaged.with_data : false,
    modulesNotInstalled: packaged !== undefined,
    ...('view' in loaded ? { pipeline: loaded.view } : {}),
  });
  if ('error' in loaded) {
    // without the pipeline, params, new glob matches and new code files cannot be checked: say so and fail
    const error = loaded.error;
    const message = error instanceof SpillwayError ? error.format() : String(error);
    report.findings.push({ kind: 'stale', stage: '(pipeline)', subject: 'stage', message: `the pipeline file could not be loaded, so params, dep globs and code files were not checked: ${message}` });
    report.ok = false;
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ ...report, package: packaged ?? null })}\n`);
  else process.stdout.write(formatAudit(report));
  return report.ok ? ExitCode.ok : ExitCode.auditFailed;
}

function parseOrUsage(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { file: { type: 'string', short: 'f' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false });
  } catch (error) {
    throw new SpillwayError('usage', (error as Error).message, { hint: 'see `spillway audit --help`' });
  }
}

async function readPackageManifest(root: string): Promise<PackageManifest | undefined> {
  try {
    const manifest = JSON.parse(await readFile(path.join(root, PACKAGE_MANIFEST), 'utf8')) as PackageManifest;
    return manifest.spillway_package === 1 ? manifest : undefined;
  } catch {
    return undefined;
  }
}

export function formatAudit(report: AuditReport): string {
  const c = report.checked;
  const lines = [
    `audit of ${path.relative(process.cwd(), report.lockfile) || report.lockfile}: ${c.stages} stage(s), ${c.artifacts} artifact(s) and ${c.store_objects} store object(s), ${c.deps} dep(s), ${c.code_files} code file(s), ${c.packages} npm package version(s), ${c.params} param(s)`,
  ];
  const failing = report.findings.filter(isFailing);
  const notes = report.findings.filter((f) => !isFailing(f));
  for (const f of failing) lines.push(...findingLines(f, '✗'));
  for (const f of notes.filter((n) => n.kind !== 'not_packaged')) lines.push(...findingLines(f, '·'));
  // what a package leaves out by design, in one line each (the JSON report lists every one)
  const absent = notes.filter((n) => n.kind === 'not_packaged');
  const rawAbsent = new Set(absent.filter((n) => n.subject === 'dep').map((n) => n.path));
  const modulesAbsent = new Set(absent.filter((n) => n.subject === 'code').map((n) => n.name));
  if (rawAbsent.size) lines.push(`· not_packaged ${rawAbsent.size} raw input(s) are not in this package (exported without --with-data); their checksums are in raw-inputs.sha256`);
  if (modulesAbsent.size) lines.push(`· not_packaged ${modulesAbsent.size} npm package(s) the stages import are not installed here; \`npm ci\` installs the recorded versions`);
  lines.push(`stages: ${report.stages.map((s) => `${s.stage} ${s.status}`).join(', ') || '(none recorded)'}`);
  lines.push(report.ok ? 'audit passed: every file matches the lockfile' : `audit FAILED: ${failing.length} problem(s)`);
  return `${lines.join('\n')}\n`;
}

function findingLines(f: AuditFinding, mark: string): string[] {
  const lines = [`${mark} ${f.kind.padEnd(12)} ${f.stage.padEnd(10)} ${f.message}`];
  if (f.kind === 'corrupted' || (f.subject !== 'param' && f.actual !== undefined)) lines.push(`    recorded ${String(f.expected)}\n    on disk  ${String(f.actual)}`);
  return lines;
}
