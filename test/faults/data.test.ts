// Faults in the input data and the estimates made from it (issue 9, items 3, 4 and 8): each must end in a clear error
// (file, line/row, column) or a visible warning, never in a wrong result with exit 0. Real files in temp dirs, the
// real stages, and the real CLI (`node bin/spillway.js run` in a temp copy of the project) for the exit codes.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv, type RowSchema } from '../../src/data/csv.js';
import { SpillwayError } from '../../src/errors.js';
import { fitCountModel, type CountDesign } from '../../src/stats/count/index.js';
import { Rng } from '../../src/stats/random.js';
import { projectRoot, runStage, runTinyThroughLag, TINY_OVERRIDES } from '../replication/helpers.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `spillway-faults-${prefix}-`));
  made.push(dir);
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<SpillwayError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof SpillwayError) return e;
    throw e;
  }
  throw new Error('expected a SpillwayError');
}

const funding = JSON.parse(readFileSync(join(projectRoot, 'schemas/raw/funding.schema.json'), 'utf8')) as RowSchema;
const HEADER = 'grant_id,year,region,amount,title\n';
/** n good funding rows G1..Gn, one per line */
const goodRows = (n: number, from = 1) => Array.from({ length: n }, (_, k) => `G${from + k},2001,CN-BJ,${k + 1},grant ${from + k}\n`).join('');

const csvDir = tempDir('csv');
function write(name: string, content: string | Buffer): string {
  const path = join(csvDir, name);
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(content) : content);
  return path;
}
async function read(path: string, onBadRow: 'fail' | 'drop' = 'fail') {
  const rows: Record<string, unknown>[] = [];
  const summary = await readCsv(path, { schema: funding, onBadRow, policyParam: 'ingest.on_bad_row' }, (r) => {
    rows.push(r);
  });
  return { rows, summary };
}

describe('a quote that swallows the rest of the file is an error at the line it opened, in both modes', () => {
  // the issue: one unterminated quote on line 3 made 32,060 rows read as 2, "1 dropped", exit 0
  const text = `${HEADER}${goodRows(1)}G2,2001,CN-BJ,"5,grant 2\n${goodRows(500, 3)}`;

  for (const name of ['swallow.csv', 'swallow.csv.gz']) {
    it(`${name}: drop mode does not drop it as one row`, async () => {
      const e = await failure(read(write(name, text), 'drop'));
      expect(e.kind).toBe('invalidInput');
      expect(e.details).toMatchObject({ file: join(csvDir, name), line: 3, row: 2, field: 'amount' });
      expect(e.message).toMatch(/quote opened in column "amount" on line 3 is never closed: lines 3–503 \(the rest of the file\)/);
      expect(e.format()).toContain(`${name}:3 row 2 column "amount"`);
    });
  }

  it('fail mode names line 3, not the end of the file', async () => {
    const e = await failure(read(write('swallow-fail.csv', text), 'fail'));
    expect(e.details).toMatchObject({ line: 3, row: 2, field: 'amount' });
    expect(e.message).toContain('never closed');
  });

  it('a stray quote that a later quote "closes" swallows the rows between: an error at its line in drop mode', async () => {
    // row 2's quote stays open through rows 3-4 until the quote of row 5; csv-parse used to skip all of it as one record
    const swallowing = `${HEADER}${goodRows(1)}G2,2001,CN-BJ,7,"grant"x\n${goodRows(2, 3)}G5,2001,CN-BJ,9,"grant 5"\n${goodRows(3, 6)}`;
    const e = await failure(read(write('stray.csv', swallowing), 'drop'));
    expect(e.details).toMatchObject({ line: 3, row: 2 });
    expect(e.message).toMatch(/lines 3–6 one record/);
  });

  it('a malformed row confined to its own line is still dropped and counted, and rows after it keep their lines', async () => {
    const text2 = `${HEADER}${goodRows(1)}G2,2001,CN-BJ,7,"say "hi" x"\n${goodRows(1, 3)}G4,2001,CN-BJ,-1,t\n`;
    // a quote inside an unquoted-looking field: csv-parse reports it on line 3 and the record ends there
    const { rows, summary } = await read(write('confined.csv', text2.replace('"say "hi" x"', 'say "hi" x')), 'drop');
    expect(rows.map((r) => r.grant_id)).toEqual(['G1', 'G3']);
    expect(summary.rows_dropped).toBe(2);
    expect(summary.dropped_examples.map((d) => [d.row, d.line, d.column])).toEqual([
      [2, 3, 'title'],
      [4, 5, 'amount'],
    ]);
  });

  it('a row after a multi-line quoted field is reported at the line it starts on', async () => {
    const text3 = `${HEADER}G1,2001,CN-BJ,1,"two\nline title"\n\nG2,2001,CN-BJ,x,"also\ntwo lines"\n`;
    const e = await failure(read(write('multiline.csv', text3)));
    // header 1, G1 on lines 2-3, a blank line 4, G2 on lines 5-6
    expect(e.details).toMatchObject({ row: 2, line: 5, field: 'amount' });
  });
});

describe('invalid UTF-8 is an error with the byte offset and the row, never U+FFFD', () => {
  // "纳米" in GBK (C4C9 C3D7), as a Chinese export in the wrong encoding would hold it
  const gbk = Buffer.from([0xc4, 0xc9, 0xc3, 0xd7]);
  const before = Buffer.from(`${HEADER}${goodRows(2)}G3,2001,CN-BJ,5,`);
  const bytes = Buffer.concat([before, gbk, Buffer.from(` grant\n${goodRows(2, 4)}`)]);

  for (const name of ['gbk.csv', 'gbk.csv.gz']) {
    for (const mode of ['fail', 'drop'] as const) {
      it(`${name}, ${mode} mode`, async () => {
        const e = await failure(read(write(name, bytes), mode));
        expect(e.kind).toBe('invalidInput');
        expect(e.message).toContain(`not valid UTF-8: byte offset ${before.length}`);
        expect(e.details).toMatchObject({ row: 3, line: 4, context: { byte_offset: before.length } });
        expect(e.details.hint).toMatch(/GB18030/);
      });
    }
  }

  it('in a malformed row under drop, the encoding error wins and names that row', async () => {
    const bytes2 = Buffer.concat([Buffer.from(`${HEADER}${goodRows(1)}G2,2001,CN-BJ,5,"say "`), gbk, Buffer.from(`" x"\n${goodRows(2, 3)}`)]);
    const e = await failure(read(write('gbk-bad-row.csv', bytes2), 'drop'));
    expect(e.message).toMatch(/^not valid UTF-8: byte offset \d+ is in row 2$/);
    expect(e.details).toMatchObject({ row: 2, line: 3 });
  });

  it('a bad row before the invalid byte is reported as the first problem, in fail mode', async () => {
    const bytes3 = Buffer.concat([Buffer.from(`${HEADER}G1,20O1,CN-BJ,5,t\n${goodRows(3, 2)}G9,2001,CN-BJ,5,`), gbk, Buffer.from('\n')]);
    const e = await failure(read(write('bad-then-gbk.csv', bytes3)));
    expect(e.details).toMatchObject({ row: 1, field: 'year' });
  });

  it('accepts multi-byte characters split across read chunks, and a real U+FFFD', async () => {
    // the plain reader takes 1 MiB chunks: put a 3-byte character across each of the first boundaries
    const lines: string[] = [HEADER];
    let size = Buffer.byteLength(HEADER);
    let k = 0;
    while (size < 3.2 * (1 << 20)) {
      const boundary = Math.ceil((size + 1) / (1 << 20)) * (1 << 20);
      const prefix = `G${++k},2001,CN-BJ,1,`;
      // pad so that 纳 (3 bytes) starts one byte before the next boundary when the row would cross it
      const room = boundary - size - Buffer.byteLength(prefix) - 1;
      const pad = room > 0 && room < 5000 ? 'x'.repeat(room) : 'nano';
      const line = `${prefix}${pad}纳米 \ufffd\n`;
      lines.push(line);
      size += Buffer.byteLength(line);
    }
    const path = write('split.csv', lines.join(''));
    const { summary } = await read(path);
    expect(summary.rows_accepted).toBe(k);
  });

  it('a file cut inside a multi-byte character', async () => {
    const cut = Buffer.concat([Buffer.from(`${HEADER}${goodRows(1)}G2,2001,CN-BJ,5,`), Buffer.from('纳').subarray(0, 2)]);
    const e = await failure(read(write('cut.csv', cut)));
    expect(e.message).toContain(`byte offset ${cut.length - 2}`);
  });
});

describe('a number beyond the range of a double', () => {
  it('1e400 stops the read at its row and column', async () => {
    const e = await failure(read(write('big.csv', `${HEADER}${goodRows(2)}G3,2001,CN-BJ,1e400,t\n`)));
    expect(e.details).toMatchObject({ row: 3, line: 4, field: 'amount' });
    expect(e.message).toBe('value 1e400 is out of range: it overflows a 64-bit float to Infinity');
  });
  it('NaN and infinity spellings (.nan, NaN, inf, -Infinity) are not numbers: each stops the read at its cell', async () => {
    for (const text of ['.nan', 'NaN', 'inf', '-Infinity', '.inf']) {
      const e = await failure(read(write('nan.csv', `${HEADER}${goodRows(1)}G2,2001,CN-BJ,${text},t\n`)));
      expect(e.details, text).toMatchObject({ row: 2, field: 'amount' });
      expect(e.message).toBe(`value ${JSON.stringify(text)} must be number`);
    }
  });

  it('is dropped and counted under drop, like any bad value', async () => {
    const { rows, summary } = await read(write('big2.csv', `${HEADER}${goodRows(1)}G2,2001,CN-BJ,1e400,t\n`), 'drop');
    expect(rows).toHaveLength(1);
    expect(summary.dropped_examples[0]).toMatchObject({ row: 2, column: 'amount' });
  });
});

/** a copy of the tiny dataset to damage */
function tinyData(): string {
  const dir = tempDir('tiny');
  cpSync(join(projectRoot, 'test/fixtures/tiny-dataset'), dir, { recursive: true });
  unlinkSync(join(dir, 'README.md'));
  return dir;
}
const gzHeader = (path: string) => gunzipSync(readFileSync(path)).toString('utf8').split('\n')[0] + '\n';

describe('ingest: raw files missing, doubled or empty', () => {
  it('a missing raw file is invalid input naming it', async () => {
    const dir = tinyData();
    unlinkSync(join(dir, 'funding.csv'));
    const e = await failure(runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES }));
    expect(e.kind).toBe('invalidInput');
    expect(e.message).toMatch(/raw file funding\.csv \(or funding\.csv\.gz\) not found/);
  });

  it('a raw file given as both .csv and .csv.gz is invalid input naming both', async () => {
    const dir = tinyData();
    writeFileSync(join(dir, 'funding.csv.gz'), gzipSync(readFileSync(join(dir, 'funding.csv'))));
    const e = await failure(runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES }));
    expect(e.kind).toBe('invalidInput');
    expect(e.message).toMatch(/raw file funding is given 2 times: funding\.csv and funding\.csv\.gz/);
  });

  it('a header-only patents file stops ingest: there is nothing to model', async () => {
    const dir = tinyData();
    writeFileSync(join(dir, 'patents.csv.gz'), gzipSync(gzHeader(join(dir, 'patents.csv.gz'))));
    const e = await failure(runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES }));
    expect(e.kind).toBe('invalidInput');
    expect(e.details.file).toBe('data/raw/patents.csv.gz');
    expect(e.message).toMatch(/header but no rows/);
  });

  it('patents without one nano patent in the years stop ingest, saying where the rows went', async () => {
    const e = await failure(runStage('ingest', { overrides: { ...TINY_OVERRIDES, 'ingest.nano_pattern': 'quantum-dot-only' } }));
    expect(e.message).toMatch(/^no nano patents to model in 1999–2001: of the 124 rows of the patents file, 0 were dropped as bad, 1 are of other years, 0 of excluded regions, 123 have titles that do not match/);
  });

  it('header-only funding and publications files are read, with a warning in ingest_report and the log', async () => {
    const dir = tinyData();
    writeFileSync(join(dir, 'funding.csv'), HEADER);
    writeFileSync(join(dir, 'publications.csv'), 'id,year,regions,countries\n');
    const logs: string[] = [];
    const { ingest_report, panel } = await runStage('ingest', { dataDir: dir, overrides: TINY_OVERRIDES, logs });
    expect(ingest_report.warnings).toEqual([
      expect.stringMatching(/^data\/raw\/publications\.csv has a header but no rows: every publication count/),
      expect.stringMatching(/^data\/raw\/funding\.csv has a header but no rows: nano funding is 0 for every region-year/),
    ]);
    expect(logs.filter((l) => l.startsWith('warning: '))).toHaveLength(2);
    expect(panel.rows.every((r: { nano_funding: number }) => r.nano_funding === 0)).toBe(true);
    // the unchanged dataset has no warning
    const clean = await runStage('ingest', { overrides: TINY_OVERRIDES });
    expect(clean.ingest_report.warnings).toEqual([]);
  });
});

describe('estimate: a stage whose every model failed fails', () => {
  it('all-zero outcomes (as after a lost patents file): no model can be fitted, the stage throws naming each', async () => {
    const { design } = await runTinyThroughLag();
    const zero = { ...design, rows: design.rows.map((r: Record<string, unknown>) => ({ ...r, nano_patents: 0 })) };
    const e = await failure(runStage('estimate', { inputs: { design: zero }, overrides: TINY_OVERRIDES }));
    expect(e.kind).toBe('notConverged');
    expect(e.message).toMatch(/^none of the 9 models gave a converged fit:\n {2}model 1: no observations left to fit/);
    expect(e.message.split('\n')).toHaveLength(10);
  });
});

// ---- the real CLI in a temp copy of the project ----

function project(data: string): string {
  const dir = tempDir('project');
  for (const p of ['pipeline.yaml', 'stages', 'schemas', 'src', 'package.json', 'tsconfig.json']) cpSync(join(projectRoot, p), join(dir, p), { recursive: true });
  symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'));
  cpSync(data, join(dir, 'data/raw'), { recursive: true });
  return dir;
}
function spillway(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/spillway.js'), ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
const TINY_SET = ['--set', 'ingest.years=[1999, 2001]', '--set', 'lag.estimation_years=[2000, 2001]'];

describe('exit codes through `spillway run`', () => {
  it('the issue: an unterminated quote on line 3 of the embedded patents file (32,000 lines) under drop mode exits 4, naming line 3', async () => {
    const dir = project(join(projectRoot, 'data/raw'));
    const file = join(dir, 'data/raw/patents.csv.gz');
    const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
    lines[2] = lines[2].replace(/,([^,]*\(synthetic\))/, ',"$1');
    expect(lines[2]).toContain(',"');
    writeFileSync(file, gzipSync(lines.join('\n')));
    const run = await spillway(['run', '--set', 'ingest.on_bad_row=drop'], dir);
    expect(run.code).toBe(4);
    const last = lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
    expect(run.stderr).toContain(`data/raw/patents.csv.gz:3 row 2 column "applicant": a quote opened in column "applicant" on line 3 is never closed: lines 3–${last}`);
    expect(run.stderr).toMatch(/1 failed, 6 skipped/);
  }, 120_000);

  it('a missing raw file, a doubled one, a header-only patents file and invalid UTF-8 exit 4', async () => {
    const cases: [string, (d: string) => void, RegExp][] = [
      ['missing', (d) => unlinkSync(join(d, 'regions.csv')), /raw file regions\.csv \(or regions\.csv\.gz\) not found/],
      ['doubled', (d) => writeFileSync(join(d, 'patents.csv'), gunzipSync(readFileSync(join(d, 'patents.csv.gz')))), /raw file patents is given 2 times/],
      ['header-only', (d) => writeFileSync(join(d, 'patents.csv.gz'), gzipSync(gzHeader(join(d, 'patents.csv.gz')))), /patents\.csv\.gz: the patents file has a header but no rows/],
      [
        'latin-1',
        // a row added by an editor saving in Latin-1: é as the single byte E9
        (d) => writeFileSync(join(d, 'regions.csv'), Buffer.concat([readFileSync(join(d, 'regions.csv')), Buffer.from('CN-JS,Ji'), Buffer.from([0xe9]), Buffer.from('ngsu,Nanjing,32.06,118.78\n')])),
        new RegExp(`regions\\.csv:6 row 5: not valid UTF-8: byte offset ${readFileSync(join(projectRoot, 'test/fixtures/tiny-dataset/regions.csv')).length + 8} is in row 5`),
      ],
    ];
    for (const [name, damage, message] of cases) {
      const data = tinyData();
      damage(data);
      const run = await spillway(['run', 'ingest', ...TINY_SET], project(data));
      expect(run.code, `${name}: ${run.stderr}`).toBe(4);
      expect(run.stderr, name).toMatch(message);
    }
  }, 120_000);

  it('estimate with no converged model fails the run (exit 7) instead of exit 0 with nine empty models', async () => {
    // the tiny dataset has too few observations: every model's likelihood is flat
    const run = await spillway(['run', 'estimate', ...TINY_SET], project(join(projectRoot, 'test/fixtures/tiny-dataset')));
    expect(run.code).toBe(7);
    expect(run.stderr).toContain('none of the 9 models gave a converged fit');
    expect(run.stderr).toMatch(/5 ran, 1 failed/);
  }, 120_000);
});

describe('spillway fit: a repeated column name and regressors too large to fit', () => {
  // a panel of 10 regions × 4 years with overdispersed counts and two regressors (seeded)
  const rng = Rng.fromSeed(9);
  const rows: { g: number; y: number; x: number; z: number }[] = [];
  for (let g = 0; g < 10; g++) {
    for (let t = 0; t < 4; t++) {
      const x = rng.normal();
      const z = rng.normal();
      rows.push({ g, y: rng.poisson(rng.gamma(2) * 2 * Math.exp(0.4 * x - 0.2 * z)), x: Number(x.toFixed(6)), z: Number(z.toFixed(6)) });
    }
  }
  const dir = tempDir('fit');
  const csv = (name: string, header: string, line: (r: (typeof rows)[number], i: number) => string) => {
    const path = join(dir, name);
    writeFileSync(path, `${header}\n${rows.map((r, i) => `${line(r, i)}\n`).join('')}`);
    return path;
  };
  const fit = (file: string, x = 'x,z') =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(projectRoot, 'bin/spillway.js'), 'fit', '--data', file, '--id', 'g', '--y', 'y', '--x', x], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it('a header naming a used column twice is an error with the file, the name and both positions', async () => {
    // before: csv-parse keyed the record by name and the second "x" (here z's values) silently won
    const file = csv('twice.csv', 'g,y,x,x,z', (r) => `${r.g},${r.y},${r.x},${r.z},${r.z}`);
    const run = await fit(file);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`${file}:1 column "x": column "x" appears 2 times in the header (columns 3 and 4)`);
  });

  it('a repeated name of a column the model does not use is harmless', async () => {
    const run = await fit(csv('unused-twice.csv', 'g,y,x,z,note,note', (r) => `${r.g},${r.y},${r.x},${r.z},a,b`));
    expect(run.code, run.stderr).toBe(0);
  });

  it('a regressor cell of 1e308 is an error at its CSV row and column, not a column dropped for "no within-group variation"', async () => {
    const file = csv('huge.csv', 'g,y,x,z', (r, i) => `${r.g},${r.y},${r.x},${i === 6 ? '1e308' : r.z}`);
    const run = await fit(file);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`${file}:8 row 8 column "z": regressor value 1e308 is too large for the estimator (|x| > 1e+150): its square overflows`);
    expect(run.stderr).not.toMatch(/within-group/);
  });

  it('a regressor cell of 1e400 overflows at read, with its row', async () => {
    const file = csv('overflow.csv', 'g,y,x,z', (r, i) => `${r.g},${r.y},${r.x},${i === 2 ? '1e400' : r.z}`);
    const run = await fit(file);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`${file}:4 row 4 column "z": "1e400" is out of range: it overflows a 64-bit float to Infinity`);
  });

  it('ids in Latin-1 are an encoding error, not two regions merged into one group "Bj\ufffd"', async () => {
    const text = `g,y,x,z\n${rows.map((r) => `R${r.g},${r.y},${r.x},${r.z}\n`).join('')}`;
    const at = Buffer.byteLength(text) + 2;
    const bytes = Buffer.concat([Buffer.from(text), Buffer.from('Bj'), Buffer.from([0xe9]), Buffer.from(',1,0.1,0.2\nBj'), Buffer.from([0xe8]), Buffer.from(',2,0.3,0.1\n')]);
    const file = join(dir, 'latin1.csv');
    writeFileSync(file, bytes);
    const run = await fit(file);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`${file}:42 row 42: not valid UTF-8 at byte offset ${at}`);
  });

  it('through the API (the estimate stage): 1e308 or 1e200 in a regressor is invalidInput with its design row and column', () => {
    for (const big of [1e308, 1e200, -1e160]) {
      const design: CountDesign = { y: rows.map((r) => r.y), X: rows.map((r, i) => [r.x, i === 5 ? big : r.z]), names: ['x', 'z'], groups: rows.map((r) => String(r.g)) };
      let caught: unknown;
      try {
        fitCountModel(design, { model: 'hhg-fenb', addConstant: true });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(SpillwayError);
      expect((caught as SpillwayError).kind).toBe('invalidInput');
      expect((caught as SpillwayError).details).toMatchObject({ row: 6, field: 'z' });
    }
    // 1e150 itself is accepted (a fit is made, the column kept)
    const ok = fitCountModel({ y: rows.map((r) => r.y), X: rows.map((r, i) => [r.x, i === 5 ? 1e150 : r.z]), names: ['x', 'z'], groups: rows.map((r) => String(r.g)) }, { model: 'fe-poisson' });
    expect(ok.dropped_columns).toEqual([]);
  });
});
