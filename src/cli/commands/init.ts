// spillway init [DIR]: scaffolds a project that runs at once: pipeline.yaml (with the $schema line for editors), a
// Python command stage, two TypeScript stages importing from 'spillway', their schemas, example data, .gitignore, a
// README. Refuses to write over an existing project or any existing file.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, SpillwayError } from '../../errors.js';
import { parseCommandArgs } from '../args.js';

export const help = `usage: spillway init [DIR] [options]

Creates a new spillway project in DIR (default: the current directory; created when missing): pipeline.yaml, a
Python command stage (stages/clean.py), two TypeScript stages (stages/summarize.ts, stages/report.ts), their JSON
Schemas, example data, .gitignore, tsconfig.json and a README. \`spillway run\` works in it right away.
Refuses when DIR already holds a pipeline.yaml or any file init would write; never overwrites.

options:
      --json           print {"dir", "files": [...]} instead of the next steps
  -h, --help           this text`;

/** The package's root: dist/cli/commands/init.js (or src/cli/commands/init.ts) → three levels up. */
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));
const templateDir = path.join(packageRoot, 'templates', 'init');

/** Template file name → name in the project (npm never packs a file called .gitignore). */
const RENAMES: Record<string, string> = { gitignore: '.gitignore' };
/** Files that are filled in with {{NAME}} and {{SCHEMA}}. */
const FILLED = new Set(['pipeline.yaml', 'README.md']);

async function listTemplate(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listTemplate(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

export interface InitReport {
  dir: string;
  files: string[];
  schema: string;
}

export async function initProject(dir: string): Promise<InitReport> {
  const target = path.resolve(dir);
  const templates = await listTemplate(templateDir);
  const plan = templates.map((t) => ({ from: t, to: RENAMES[t] ?? t }));
  const existing = plan.filter((p) => existsSync(path.join(target, p.to))).map((p) => p.to);
  for (const other of ['pipeline.yml', 'pipeline.lock']) if (existsSync(path.join(target, other))) existing.push(other);
  if (existing.length > 0) {
    throw new SpillwayError('usage', `${target} already holds ${existing.some((f) => f.startsWith('pipeline.')) ? 'a spillway project' : 'files init would write'}: ${existing.join(', ')}`, {
      file: path.join(target, existing[0]),
      hint: 'spillway init never overwrites: name a new or empty directory (`spillway init my-project`)',
    });
  }
  // The schema of the spillway that is running, relative to the project: node_modules/spillway/… when installed there.
  const schemaFile = path.join(packageRoot, 'schemas', 'pipeline.schema.json');
  let schema = path.relative(target, schemaFile).split(path.sep).join('/');
  if (!schema.startsWith('.')) schema = `./${schema}`;
  const name = path.basename(target);
  for (const { from, to } of plan) {
    const destination = path.join(target, to);
    await mkdir(path.dirname(destination), { recursive: true });
    let text = await readFile(path.join(templateDir, from));
    if (FILLED.has(from)) text = Buffer.from(text.toString('utf8').replaceAll('{{SCHEMA}}', schema).replaceAll('{{NAME}}', name));
    // 'wx': fails instead of overwriting a file that appeared since the check above
    await writeFile(destination, text, { flag: 'wx' });
  }
  return { dir: target, files: plan.map((p) => p.to).sort(), schema };
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('init', argv, { json: { type: 'boolean', default: false } }, help);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  if (positionals.length > 1) throw new SpillwayError('usage', 'init takes at most one DIR', { expected: 'spillway init [DIR]' });
  const report = await initProject(positionals[0] ?? '.');
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return ExitCode.ok;
  }
  const rel = path.relative(process.cwd(), report.dir) || '.';
  process.stdout.write(
    [
      `created a spillway project in ${report.dir}:`,
      ...report.files.map((f) => `  ${f}`),
      '',
      'next:',
      ...(rel === '.' ? [] : [`  cd ${rel}`]),
      '  spillway run                           # clean (Python) → summarize → report; writes pipeline.lock',
      '  spillway run --set summarize.trim=0.2  # re-runs summarize and report only',
      '',
    ].join('\n'),
  );
  return ExitCode.ok;
}
