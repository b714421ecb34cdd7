// spillway show TARGET: prints an artifact the lockfile records, read from the store (so it is exactly what the
// lockfile's hash names), as a table when it is tabular (an array of flat records, or an object holding some) and as
// JSON otherwise. Plain-file outputs are printed as they are (CSV as a table); a directory output lists its files.
import { readFile } from 'node:fs/promises';
import { ExitCode, SpillwayError } from '../../errors.js';
import type { LockedOutput, Lockfile } from '../../engine/lockfile-format.js';
import { bytes } from '../../provenance/lineage.js';
import { fileExists, projectFromPipelineFile, readLock, resolveInProject, toProjectPath, type Project } from '../../provenance/project.js';
import { parseCommandArgs } from '../args.js';

export const help = `usage: spillway show TARGET [options]

Prints an artifact recorded in the lockfile, read from the store: JSON outputs as tables when they hold records
(an array of flat objects, or an object with such arrays: its other fields are listed above the tables), otherwise
as indented JSON; CSV file outputs as a table; other file outputs as they are; a directory output as a file list.

TARGET is a stage output (clean.rows), a stage with one output (clean), or the path of an output
(artifacts/out/clean/rows.json, results/summary.md).

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml)
      --format F       auto (default), table or json
      --rows N         at most N rows per table (default 40; 0: all)
      --json           print the artifact's JSON value as it is (JSON outputs only)
  -h, --help           this text`;

type Row = Record<string, unknown>;
const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const isRecords = (v: unknown): v is Row[] =>
  Array.isArray(v) && v.length > 0 && v.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r) && Object.values(r).every(isScalar));

function cell(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return v === null || v === undefined ? '' : String(v);
}

/** A plain-text table; numbers right-aligned. */
export function formatTable(rows: Row[], limit: number): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const shown = limit > 0 ? rows.slice(0, limit) : rows;
  const cells = shown.map((r) => columns.map((c) => cell(r[c])));
  const numeric = columns.map((c) => shown.every((r) => r[c] === undefined || typeof r[c] === 'number'));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  if (shown.length < rows.length) out.push(`… ${rows.length - shown.length} more row(s) (--rows 0 shows all)`);
  return out.join('\n');
}

/** Renders a JSON value: tables for records, `key  value` lines for scalars, JSON for the rest; undefined if not tabular. */
export function formatTabular(value: unknown, limit: number): string | undefined {
  if (isRecords(value)) return formatTable(value, limit);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Row);
  if (!entries.some(([, v]) => isRecords(v))) return undefined;
  const width = Math.max(...entries.filter(([, v]) => !isRecords(v)).map(([k]) => k.length), 0);
  const parts: string[] = [];
  const scalars = entries.filter(([, v]) => !isRecords(v)).map(([k, v]) => `${k.padEnd(width)}  ${isScalar(v) ? cell(v) : JSON.stringify(v)}`);
  if (scalars.length) parts.push(scalars.join('\n'));
  for (const [k, v] of entries) if (isRecords(v)) parts.push(`${k} (${v.length} row(s)):\n${formatTable(v, limit)}`);
  return parts.join('\n\n');
}

/** Minimal CSV reading for display (quoted fields, doubled quotes); numbers become numbers. */
export function parseCsv(text: string): Row[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') record.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field), records.push(record), (record = []), (field = '');
    } else field += ch;
  }
  if (field !== '' || record.length) record.push(field), records.push(record);
  const [header, ...body] = records.filter((r) => r.length > 1 || r[0] !== '');
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] !== undefined && r[i] !== '' && Number.isFinite(Number(r[i])) ? Number(r[i]) : (r[i] ?? '')])));
}

export function resolveOutput(lock: Lockfile, target: string, projectPath: string): { ref: string; out: LockedOutput } {
  const dot = target.indexOf('.');
  if (dot > 0 && lock.stages[target.slice(0, dot)]?.outs[target.slice(dot + 1)]) {
    return { ref: target, out: lock.stages[target.slice(0, dot)].outs[target.slice(dot + 1)] };
  }
  if (lock.stages[target]) {
    const outs = Object.entries(lock.stages[target].outs);
    if (outs.length === 1) return { ref: `${target}.${outs[0][0]}`, out: outs[0][1] };
    throw new SpillwayError('usage', `stage ${target} has ${outs.length} outputs; name one`, { expected: outs.map(([n]) => `${target}.${n}`).join(', ') || 'a stage with outputs' });
  }
  for (const [stage, s] of Object.entries(lock.stages)) {
    for (const [name, out] of Object.entries(s.outs)) if (out.path.replace(/\/+$/, '') === projectPath.replace(/\/+$/, '')) return { ref: `${stage}.${name}`, out };
  }
  throw new SpillwayError('usage', `no output "${target}" in the lockfile`, {
    expected: 'a stage output (stage.name), a stage with one output, or an output path; `spillway lineage` and `spillway dag` list them',
  });
}

async function readRecorded(project: Project, out: LockedOutput): Promise<Buffer> {
  // the store object is what the hash names; the readable copy is the fallback
  for (const rel of [out.object, out.path]) {
    const file = resolveInProject(project.root, rel);
    if (await fileExists(file)) return readFile(file);
  }
  throw new SpillwayError('invalidInput', `${out.path} is missing from the store and the project`, { hint: 'run `spillway run` to rebuild it' });
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'show',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      format: { type: 'string', default: 'auto' },
      rows: { type: 'string', default: '40' },
      json: { type: 'boolean', default: false },
    },
    help,
  );
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new SpillwayError('usage', positionals.length ? 'show takes one TARGET' : 'show needs a TARGET', { expected: 'spillway show clean.rows' });
  const format = values.json ? 'json' : (values.format as string);
  if (!['auto', 'table', 'json'].includes(format)) throw new SpillwayError('usage', `--format expects auto, table or json, got "${format}"`);
  const limit = Number(values.rows);
  if (!Number.isInteger(limit) || limit < 0) throw new SpillwayError('usage', `--rows expects a whole number ≥ 0, got "${values.rows}"`);
  const project = projectFromPipelineFile(values.file as string);
  const lock = await readLock(project);
  const target = positionals[0];
  const { ref, out } = resolveOutput(lock, target, toProjectPath(project.root, target));

  if (out.kind === 'dir') {
    if (format === 'json') process.stdout.write(`${JSON.stringify({ ref, path: out.path, hash: out.hash, files: out.files ?? [] })}\n`);
    else process.stdout.write(`${ref}: directory ${out.path} (${(out.files ?? []).length} file(s))\n${(out.files ?? []).map((f) => `  ${f.path}  ${bytes(f.size)}`).join('\n')}\n`);
    return ExitCode.ok;
  }
  const data = await readRecorded(project, out);
  if (out.kind === 'json') {
    const value = JSON.parse(data.toString('utf8')) as unknown;
    if (format === 'json') {
      process.stdout.write(values.json ? `${JSON.stringify(value)}\n` : `${JSON.stringify(value, null, 2)}\n`);
      return ExitCode.ok;
    }
    const table = formatTabular(value, limit);
    if (table === undefined && format === 'table') throw new SpillwayError('usage', `${ref} holds no records to show as a table`, { hint: 'use --format json' });
    process.stdout.write(`${table ?? JSON.stringify(value, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (format === 'json') throw new SpillwayError('usage', `${ref} is a file output (${out.path}), not JSON`);
  const text = data.toString('utf8');
  if (/\.csv$/i.test(out.path) && format !== 'json') {
    const rows = parseCsv(text);
    if (rows.length) {
      process.stdout.write(`${formatTable(rows, limit)}\n`);
      return ExitCode.ok;
    }
  }
  if (data.includes(0)) throw new SpillwayError('usage', `${ref} (${out.path}) is a binary file of ${bytes(data.length)}`, { hint: `open ${out.path}` });
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return ExitCode.ok;
}
