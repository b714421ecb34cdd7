// spillway exp show | diff A B | apply ID: the experiments sweeps recorded (artifacts/experiments/).
import { ExitCode, SpillwayError } from '../../errors.js';
import { applyExperiment, diffExperiments, findRecord, listRecords, type ExperimentRecord } from '../../engine/experiments.js';
import { canonicalJson } from '../../engine/hash.js';
import { loadPipeline } from '../../engine/pipeline.js';
import { getDotted } from '../../engine/stage-context.js';
import { colorEnabled, formatDuration, paint, parseCommandArgs } from '../args.js';

export const help = `usage: spillway exp show [options]
       spillway exp diff A B [options]
       spillway exp apply ID [options]

show    one row per experiment: id, status, stage executions, time, the swept params (a value that differs from
        pipeline.yaml is marked *), and the metrics the stages declare.
          --sweep NAME      only experiments of this sweep
          --sort METRIC     sort by a metric or param column (ascending; --desc for descending); failed rows last
          --metrics REGEX   only metric columns matching REGEX
          --only-changed    only param columns that differ between the shown experiments
          --csv             CSV on stdout (full precision)
diff    the params and metrics that differ between experiments A and B (ids or unique prefixes), with the change
apply   make experiment ID the project's state: write every output it recorded at its readable path from the store
        and its lockfile as pipeline.lock, under the project lock. pipeline.yaml is not edited: \`spillway status\`
        then names the params the experiment changed (the --set flags that reproduce it are printed).
          --params          also write the experiment's param values into pipeline.yaml (comments kept)

options:
  -f, --file FILE   pipeline file (default: ./pipeline.yaml)
      --json        JSON on stdout
      --wait        (apply) wait for the project lock
  -h, --help        this text`;

type Cell = string | number | boolean | null | undefined;

function format(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    const a = Math.abs(value);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'string') return value;
  return canonicalJson(value);
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : canonicalJson(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'exp',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      json: { type: 'boolean', default: false },
      csv: { type: 'boolean', default: false },
      sweep: { type: 'string' },
      sort: { type: 'string' },
      desc: { type: 'boolean', default: false },
      metrics: { type: 'string' },
      'only-changed': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      params: { type: 'boolean', default: false },
    },
    help,
  );
  const [sub, ...args] = positionals;
  if (values.help || sub === undefined) {
    process.stdout.write(`${help}\n`);
    return values.help ? ExitCode.ok : ExitCode.usage;
  }
  const pipeline = await loadPipeline(values.file as string);
  const root = pipeline.root;
  const json = values.json === true;

  if (sub === 'show') {
    let records = listRecords(root);
    if (values.sweep) records = records.filter((r) => r.sweep === values.sweep);
    const paramKeys = [...new Set(records.flatMap((r) => Object.keys(r.params)))].sort();
    const shownParams = values['only-changed'] ? paramKeys.filter((k) => new Set(records.map((r) => canonicalJson(r.params[k] ?? null))).size > 1) : paramKeys;
    let metricNames = [...new Set(records.flatMap((r) => Object.keys(r.metrics)))];
    if (values.metrics) {
      let re: RegExp;
      try {
        re = new RegExp(values.metrics as string);
      } catch (error) {
        throw new SpillwayError('usage', `--metrics: ${(error as Error).message}`);
      }
      metricNames = metricNames.filter((m) => re.test(m));
    }
    if (values.sort) {
      const col = values.sort as string;
      if (!metricNames.includes(col) && !paramKeys.includes(col) && !records.some((r) => col in r.metrics)) {
        throw new SpillwayError('usage', `--sort ${col}: no such metric or param column`, { expected: `one of: ${[...metricNames, ...paramKeys].join(', ') || '(no experiments)'}` });
      }
      const get = (r: ExperimentRecord): Cell => (col in r.metrics ? r.metrics[col] : (r.params[col] as Cell));
      const dir = values.desc ? -1 : 1;
      records = [...records].sort((a, b) => {
        const x = get(a);
        const y = get(b);
        const xa = a.status === 'ok' && x !== null && x !== undefined;
        const ya = b.status === 'ok' && y !== null && y !== undefined;
        if (xa !== ya) return xa ? -1 : 1;
        if (!xa) return 0;
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return String(x) < String(y) ? -dir : String(x) > String(y) ? dir : 0;
      });
    }
    if (json) {
      process.stdout.write(`${JSON.stringify({ experiments: records })}\n`);
      return ExitCode.ok;
    }
    const header = ['experiment', 'sweep', 'status', 'ran', 'time', ...shownParams, ...metricNames];
    if (values.csv) {
      const lines = [header.map((h) => (h === 'time' ? 'duration_ms' : h)).map(csvCell).join(',')];
      for (const r of records) lines.push([r.id, r.sweep, r.status, r.executions, r.duration_ms ?? '', ...shownParams.map((k) => (Object.hasOwn(r.params, k) ? r.params[k] : getDotted(pipeline.params, k).value)), ...metricNames.map((m) => r.metrics[m])].map(csvCell).join(','));
      process.stdout.write(`${lines.join('\n')}\n`);
      return ExitCode.ok;
    }
    if (records.length === 0) {
      process.stdout.write('no experiments yet: run `spillway sweep`\n');
      return ExitCode.ok;
    }
    const color = paint(colorEnabled(process.stdout));
    const rows = records.map((r) => [
      r.id,
      r.sweep,
      r.status,
      String(r.executions),
      r.duration_ms === undefined ? '-' : formatDuration(r.duration_ms),
      ...shownParams.map((k) => (Object.hasOwn(r.params, k) ? `${format(r.params[k])}${r.changed.includes(k) ? '*' : ''}` : format(getDotted(pipeline.params, k).value))),
      ...metricNames.map((m) => format(r.metrics[m])),
    ]);
    let text = table(header, rows);
    text = text
      .split('\n')
      .map((l, i) => (i === 0 ? color.bold(l) : records[i - 1].status === 'ok' ? l : color.red(l)))
      .join('\n');
    process.stdout.write(`${text}\n${color.dim('* differs from pipeline.yaml')}\n`);
    return ExitCode.ok;
  }

  if (sub === 'diff') {
    if (args.length !== 2) throw new SpillwayError('usage', 'exp diff needs two experiment ids', { expected: 'spillway exp diff A B' });
    const a = findRecord(root, args[0]);
    const b = findRecord(root, args[1]);
    const diff = diffExperiments(a, b, pipeline.params);
    if (json) {
      process.stdout.write(`${JSON.stringify(diff)}\n`);
      return ExitCode.ok;
    }
    const out: string[] = [];
    if (diff.status) out.push(`status: ${diff.status.a} → ${diff.status.b}`);
    if (diff.params.length > 0) out.push(table(['param', a.id, b.id], diff.params.map((p) => [p.key, format(p.a), format(p.b)])));
    else out.push('params: the same');
    out.push('');
    if (diff.metrics.length > 0) {
      out.push(table(['metric', a.id, b.id, 'change'], diff.metrics.map((m) => [m.name, format(m.a), format(m.b), m.change === null ? '-' : `${m.change >= 0 ? '+' : ''}${format(m.change)}`])));
    } else out.push('metrics: the same');
    process.stdout.write(`${out.join('\n')}\n`);
    return ExitCode.ok;
  }

  if (sub === 'apply') {
    if (args.length !== 1) throw new SpillwayError('usage', 'exp apply needs one experiment id', { expected: 'spillway exp apply ID' });
    const { record, restored } = await applyExperiment(pipeline, args[0], { wait: values.wait === true, writeParams: values.params === true });
    const sets = record.changed.map((k) => `--set ${k}=${JSON.stringify(record.params[k])}`);
    if (json) process.stdout.write(`${JSON.stringify({ applied: record.id, restored, changed: Object.fromEntries(record.changed.map((k) => [k, record.params[k]])), params_written: values.params === true })}\n`);
    else {
      process.stdout.write(`applied ${record.id}: ${restored.length} outputs restored, pipeline.lock written\n`);
      if (sets.length > 0 && values.params) process.stdout.write(`pipeline.yaml: ${record.changed.map((k) => `${k} = ${JSON.stringify(record.params[k])}`).join(', ')}\n`);
      else if (sets.length > 0) process.stdout.write(`its params differ from pipeline.yaml; \`spillway status\` will say so. To run it again: spillway run ${sets.join(' ')}\n`);
    }
    return ExitCode.ok;
  }

  throw new SpillwayError('usage', `unknown exp subcommand "${sub}"`, { expected: 'show, diff or apply', hint: 'see `spillway exp --help`' });
}
