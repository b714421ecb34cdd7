// CSV reading throughput of the candidates on the same numeric CSV (an id, a year, a count and 9 decimals per row, as
// in a count panel), every field turned into a number: csv-parse as the readers used it, papaparse, csv-parser and
// uDSV (the fast, well-kept CSV libraries on npm; installed into a temp dir when missing, not dependencies of
// spillway), the byte-level fast path alone (src/data/csv-scan.ts: LineScanner with its numeric mask), and the real
// reader readCsvRows (fast path + schema checks) on the plain and the gzipped file. Each run is a fresh child process
// that reads the file 1 + --warm times: the first read is the fresh-process figure (module loading, compilation and
// JIT warm-up included, as a user's `spillway fit` or ingest pays them), the median of the others the warm one. Wall
// and CPU time, MB/s of both, and peak RSS (memory must not grow with the file). Medians of --runs runs; the machine's
// load average is printed beside them (on a shared machine, MB/s of CPU time is the figure to compare).
// Usage: npx tsx bench/csv-read.ts [--mb 50] [--runs 3] [--warm 2] [--only name,name]
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { mb: { type: 'string', default: '50' }, runs: { type: 'string', default: '3' }, warm: { type: 'string', default: '2' }, only: { type: 'string' }, child: { type: 'string' } },
});
const COLUMNS = ['id', 'year', 'y', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9'];
const LIBS = join(tmpdir(), 'spillway-bench-csv-libs');
const PACKAGES = ['papaparse@5.7.1', 'csv-parser@3.2.1', 'udsv@0.7.3'];

type Reader = (file: string) => Promise<{ rows: number; sum: number }>;

const readers: Record<string, Reader> = {
  async 'csv-parse'(file) {
    const { parse } = await import('csv-parse');
    let rows = 0;
    let sum = 0;
    let header = true;
    const parser = parse({
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (record: string[]) => {
        if (header) header = false;
        else {
          rows++;
          for (let i = 0; i < record.length; i++) sum += Number(record[i]);
        }
        return null;
      },
    });
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), parser);
    return { rows, sum };
  },
  async papaparse(file) {
    const Papa = (await import(join(LIBS, 'node_modules/papaparse/papaparse.js'))).default as {
      parse: (input: NodeJS.ReadableStream, config: Record<string, unknown>) => void;
    };
    let rows = 0;
    let sum = 0;
    let header = true;
    await new Promise<void>((resolve, reject) => {
      Papa.parse(createReadStream(file, { highWaterMark: 1 << 20, encoding: 'utf8' }), {
        skipEmptyLines: true,
        chunk: (results: { data: string[][] }) => {
          for (const record of results.data) {
            if (header) {
              header = false;
              continue;
            }
            rows++;
            for (let i = 0; i < record.length; i++) sum += Number(record[i]);
          }
        },
        complete: () => resolve(),
        error: reject,
      });
    });
    return { rows, sum };
  },
  async 'csv-parser'(file) {
    const csv = (await import(join(LIBS, 'node_modules/csv-parser/index.js'))).default as (options?: object) => NodeJS.ReadWriteStream;
    let rows = 0;
    let sum = 0;
    const stream = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(csv());
    for await (const record of stream as AsyncIterable<Record<string, string>>) {
      rows++;
      for (const key of COLUMNS) sum += Number(record[key]);
    }
    return { rows, sum };
  },
  async uDSV(file) {
    const { inferSchema, initParser } = (await import(join(LIBS, 'node_modules/udsv/dist/uDSV.mjs'))) as {
      inferSchema: (text: string) => unknown;
      initParser: (schema: unknown) => { chunk: (text: string, parse: unknown, cb: (row: unknown[]) => void) => void; end: () => void; typedArrs: unknown };
    };
    let rows = 0;
    let sum = 0;
    let parser: ReturnType<typeof initParser> | undefined;
    // typed rows (uDSV infers the columns as numbers from the first chunk) handed to a reducer: nothing accumulated
    const reducer = (row: unknown[]) => {
      rows++;
      for (let i = 0; i < row.length; i++) sum += row[i] as number;
    };
    for await (const text of createReadStream(file, { highWaterMark: 1 << 20, encoding: 'utf8' })) {
      parser ??= initParser(inferSchema(text as string));
      parser.chunk(text as string, parser.typedArrs, reducer);
    }
    parser!.end();
    return { rows, sum };
  },
  async 'fast path (LineScanner)'(file) {
    const { LineScanner } = await import('../src/data/csv-scan.js');
    let rows = -1;
    let sum = 0;
    const scanner = new LineScanner(({ buf, starts, ends, count, numbers }) => {
      rows++;
      if (rows === 0) {
        scanner.numeric = new Uint8Array(count).fill(1);
        return;
      }
      for (let i = 0; i < count; i++) {
        const v = numbers[i];
        sum += v === v ? v : Number(buf.toString('utf8', starts[i], ends[i]));
      }
    });
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) if (scanner.push(chunk as Buffer)) throw new Error('not simple');
    scanner.push(Buffer.alloc(0), true);
    return { rows, sum };
  },
  async readCsvRows(file) {
    const { readCsvRows } = await import('../src/data/csv.js');
    const schema = {
      type: 'object' as const,
      properties: Object.fromEntries(COLUMNS.map((c) => [c, { type: c === 'year' || c === 'y' || c === 'id' ? 'integer' : 'number' }])),
      required: COLUMNS,
    };
    let rows = 0;
    let sum = 0;
    await readCsvRows(file, { schema }, (v) => {
      rows++;
      for (let i = 0; i < v.length; i++) sum += v[i] as number;
    });
    return { rows, sum };
  },
};
readers['readCsvRows .csv.gz'] = (file) => readers.readCsvRows(`${file}.gz`);

async function makeData(mb: number): Promise<string> {
  const dir = join(tmpdir(), 'spillway-bench-csv');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `numeric-${mb}mb.csv`);
  if (existsSync(file) && existsSync(`${file}.gz`)) return file;
  const { Rng } = await import('../src/stats/random.js');
  const rng = Rng.fromSeed(11);
  const out = createWriteStream(file);
  out.write(COLUMNS.join(',') + '\n');
  let bytes = 0;
  let batch = '';
  for (let r = 0; bytes < mb * 1e6; r++) {
    let line = `${r},${2000 + (r % 20)},${rng.int(40)}`;
    for (let j = 0; j < 9; j++) line += `,${rng.normal().toFixed(6)}`;
    line += '\n';
    bytes += line.length;
    batch += line;
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      batch = '';
    }
  }
  out.end(batch);
  await new Promise<void>((resolve) => out.once("finish", () => resolve()));
  await pipeline(createReadStream(file), createGzip(), createWriteStream(`${file}.gz`));
  return file;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

if (values.child) {
  const file = positionals[0];
  const timed: { rows: number; sum: number; wall: number; cpu: number }[] = [];
  for (let k = 0; k <= Number(values.warm); k++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await readers[values.child](file);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    timed.push({ ...result, wall, cpu: (cpu.user + cpu.system) / 1e6 });
  }
  const warm = timed.slice(1);
  console.log(
    JSON.stringify({
      ...timed[0],
      warmWall: warm.length ? median(warm.map((t) => t.wall)) : NaN,
      warmCpu: warm.length ? median(warm.map((t) => t.cpu)) : NaN,
      rss: process.resourceUsage().maxRSS / 1024,
    }),
  );
} else {
  if (PACKAGES.some((p) => !existsSync(join(LIBS, 'node_modules', p.slice(0, p.lastIndexOf('@')))))) {
    mkdirSync(LIBS, { recursive: true });
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', LIBS, ...PACKAGES], { stdio: 'inherit' });
    if (npm.status !== 0) throw new Error('npm install of the candidate libraries failed');
  }
  const file = await makeData(Number(values.mb));
  const size = statSync(file).size / 1e6;
  const runs = Number(values.runs);
  const only = values.only?.split(',');
  console.log(`load average at start: ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} CPUs; file ${size.toFixed(1)} MB (${(statSync(`${file}.gz`).size / 1e6).toFixed(1)} MB gzipped), ${runs} runs each, fresh process per run, then ${values.warm} warm reads in it`);
  console.log('| reader | rows | fresh: wall s | CPU s | MB/s (wall) | MB/s (CPU) | warm: CPU s | MB/s (CPU) | peak RSS MB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  let reference: number | undefined;
  for (const name of Object.keys(readers)) {
    if (only && !only.includes(name)) continue;
    const results: { rows: number; sum: number; wall: number; cpu: number; warmCpu: number; rss: number }[] = [];
    for (let r = 0; r < runs; r++) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, '--warm', values.warm!, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
      results.push(JSON.parse(out.trim().split('\n').pop()!));
    }
    const { rows, sum } = results[0];
    // every reader must see the same numbers (a sum of all cells, to rounding of the summation order)
    reference ??= sum;
    if (Math.abs(sum - reference) > 1e-6 * Math.abs(reference)) throw new Error(`${name}: sum ${sum} differs from ${reference}`);
    const wall = median(results.map((m) => m.wall));
    const cpu = median(results.map((m) => m.cpu));
    const warmCpu = median(results.map((m) => m.warmCpu));
    const warm = Number.isFinite(warmCpu) ? `${warmCpu.toFixed(2)} | ${(size / warmCpu).toFixed(0)}` : '– | –';
    console.log(`| ${name} | ${rows} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${(size / wall).toFixed(0)} | ${(size / cpu).toFixed(0)} | ${warm} | ${median(results.map((m) => m.rss)).toFixed(0)} |`);
  }
  console.log(`load average at end: ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
}
