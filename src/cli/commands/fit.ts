// `spillway fit`: fit a count-panel model (hhg-fenb, fe-poisson, nb2) to a CSV file and print a regression table or JSON.
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { ExitCode, SpillwayError } from '../../errors.js';
import { expandFactor, fitCountModel, type CountModel, type FitResult, type PackedCountDesign } from '../../stats/count/index.js';
import { MAX_REGRESSOR_MAGNITUDE } from '../../stats/count/prepare.js';
import { LineScanner, plainDecimal, Utf8Check, type ScannedLine } from '../../data/csv-scan.js';

const MODELS: CountModel[] = ['hhg-fenb', 'fe-poisson', 'nb2'];
/** cells read as missing (the row is then left out, as Stata and R do): empty, R's NA, Stata's "." */
const MISSING = new Set(['', 'NA', '.']);

const HELP = `usage: spillway fit --data FILE.csv --id COL --y DEPVAR --x a,b,c [--factor year] [--exposure COL | --offset COL]
                    [--model hhg-fenb|fe-poisson|nb2] [--no-constant] [--json]

Fits a count-panel model to a CSV file (header row, comma-separated) and prints a regression table.
  --data FILE       the CSV file
  --id COL          panel id column (required by hhg-fenb and fe-poisson; ignored by nb2)
  --y COL           the count outcome (non-negative integers)
  --x a,b,c         regressors, comma-separated
  --factor COL      add indicator columns for the levels of COL, base = smallest level (repeatable)
  --exposure COL    exposure (> 0): ln(COL) enters with coefficient 1 (Stata exposure())
  --offset COL      offset entering with coefficient 1 (Stata offset())
  --model M         hhg-fenb (default; Stata xtnbreg, fe), fe-poisson (xtpoisson, fe) or nb2 (nbreg)
  --no-constant     do not add _cons (hhg-fenb and nb2 add it by default)
  --json            print {model, coef, se, loglik, n, groups, dropped_groups, dropped_columns, iterations, converged, ...}
Rows with a missing cell (empty, NA or .) in a used column are left out and counted.
Exit code 0 on convergence, 7 when the fit did not converge or the likelihood is flat or near-flat (hhg-fenb: the
maximum is barely above the conditional FE Poisson limit; see docs/estimators.md); results are still printed.`;

interface ParsedArgs {
  data: string;
  id?: string;
  y: string;
  x: string[];
  factors: string[];
  exposure?: string;
  offset?: string;
  model: CountModel;
  constant: boolean;
  json: boolean;
}

function usageError(message: string, hint?: string): SpillwayError {
  return new SpillwayError('usage', message, { hint: hint ?? 'run `spillway fit --help`' });
}

function parseCommandLine(argv: string[]): ParsedArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        id: { type: 'string' },
        y: { type: 'string' },
        x: { type: 'string' },
        factor: { type: 'string', multiple: true },
        exposure: { type: 'string' },
        offset: { type: 'string' },
        model: { type: 'string', default: 'hhg-fenb' },
        'no-constant': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (!values.data) throw usageError('--data FILE.csv is required');
  if (!values.y) throw usageError('--y DEPVAR is required');
  const model = values.model as CountModel;
  if (!MODELS.includes(model)) throw usageError(`unknown --model "${values.model}"`, `choose one of ${MODELS.join(', ')}`);
  if (model !== 'nb2' && !values.id) throw usageError(`--id COL (the panel id) is required by ${model}`);
  if (values.exposure && values.offset) throw usageError('give --exposure or --offset, not both');
  const x = (values.x ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const factors = values.factor ?? [];
  if (x.length === 0 && factors.length === 0) throw usageError('--x a,b,c (or --factor COL) is required');
  return {
    data: values.data,
    id: values.id,
    y: values.y,
    x,
    factors,
    exposure: values.exposure,
    offset: values.offset,
    model,
    constant: !values['no-constant'] && model !== 'fe-poisson',
    json: values.json,
  };
}

interface LoadedTable {
  design: PackedCountDesign;
  /** rows left out for a missing cell */
  missingRows: number;
  baseLevels: string[];
}

/** Anything the fast read of the simple case is not sure of: the file is then read again by the full reader. */
class NotSimple extends Error {}

const SPACE = 32;
/** The columns and rows of a table as the readers give them to buildDesign. */
interface Columns {
  y: ArrayLike<number>;
  /** the --x values, row after row (args.x.length per row): no array per row */
  X: ArrayLike<number>;
  /** the panel id of each row as a number: ids numbered in order of first appearance */
  groups: ArrayLike<number>;
  offset: ArrayLike<number>;
  /** per --factor column: each row's level as a number, and the levels' texts in order of first appearance */
  factors: TextCodes[];
  missingRows: number;
}

/**
 * The fast read: LineScanner over the bytes (streamed), plain decimals parsed from them. It reads only files it is sure
 * of — UTF-8, no quote, no stray CR, no space around a cell, the header's field count on every row, each cell valid —
 * and throws NotSimple at anything else, so that every error and every unusual file goes to the full reader below and
 * gets its message from there. Same values as that reader (plainDecimal is exactly Number() of the text).
 */
async function loadSimple(args: ParsedArgs, needed: string[]): Promise<Columns> {
  const out = { missingRows: 0 };
  const groups = new TextCodes();
  const factors = args.factors.map(() => new TextCodes());
  // numbers straight into typed arrays (a JS array of 600,000 numbers is copied as it grows and moved by the GC)
  const ys = new Floats();
  const xs = new Floats();
  const offsets = new Floats();
  let width = -1;
  let yAt = -1;
  let idAt = -1;
  let extraAt = -1;
  let xAt: number[] = [];
  let factorAt: number[] = [];
  let neededAt: number[] = [];
  const keepGroups = args.model !== 'nb2' && args.id !== undefined;
  const cells = new CellText();
  const text = (buf: Buffer, start: number, end: number, slot = -1): string => {
    if (end > start && (buf[start] <= SPACE || buf[end - 1] <= SPACE)) throw new NotSimple(); // csv-parse would trim it
    return cells.get(buf, start, end, slot);
  };
  // the numeric columns' values come parsed from the scanner (numbers[i], NaN when not a plain decimal)
  const numberAt = (line: ScannedLine, i: number): number => {
    const value = line.numbers[i];
    return value === value ? value : number(line.buf, line.starts[i], line.ends[i]);
  };
  const number = (buf: Buffer, start: number, end: number): number => {
    let value = plainDecimal(buf, start, end);
    if (value !== value) value = Number(text(buf, start, end));
    if (!Number.isFinite(value)) throw new NotSimple();
    return value;
  };
  const isMissing = (buf: Buffer, start: number, end: number): boolean => {
    const n = end - start;
    if (n === 0) return true;
    if (n === 1) return buf[start] === 46; // "."
    return n === 2 && buf[start] === 78 && buf[start + 1] === 65; // "NA"
  };
  const onLine = (line: ScannedLine): void => {
    const { buf, starts, ends, count } = line;
    if (width < 0) {
      const names: string[] = [];
      for (let i = 0; i < count; i++) names.push(text(buf, starts[i], ends[i]));
      const at = (column: string): number => {
        const i = names.indexOf(column);
        if (i < 0 || names.indexOf(column, i + 1) >= 0) throw new NotSimple(); // missing or repeated
        return i;
      };
      width = count;
      neededAt = needed.map(at);
      yAt = at(args.y);
      xAt = args.x.map(at);
      factorAt = args.factors.map(at);
      if (keepGroups) idAt = at(args.id!);
      const extra = args.exposure ?? args.offset;
      if (extra) extraAt = at(extra);
      const numeric = new Uint8Array(width);
      for (const i of [yAt, ...xAt, ...(extra ? [extraAt] : [])]) numeric[i] = 1;
      scanner.numeric = numeric;
      return;
    }
    if (count !== width) throw new NotSimple();
    for (const i of neededAt) {
      if (isMissing(buf, starts[i], ends[i])) {
        out.missingRows++;
        return;
      }
    }
    const count_ = numberAt(line, yAt);
    if (count_ < 0 || !Number.isInteger(count_)) throw new NotSimple();
    const X = xs;
    for (let j = 0; j < xAt.length; j++) {
      const value = numberAt(line, xAt[j]);
      if (Math.abs(value) > MAX_REGRESSOR_MAGNITUDE) throw new NotSimple();
      X.push(value);
    }
    let offset = 0;
    if (args.exposure) {
      const exposure = numberAt(line, extraAt);
      if (!(exposure > 0)) throw new NotSimple();
      offset = Math.log(exposure);
    } else if (args.offset) offset = numberAt(line, extraAt);
    ys.push(count_);
    if (keepGroups) groups.push(text(buf, starts[idAt], ends[idAt], 0));
    for (let k = 0; k < factorAt.length; k++) factors[k].push(text(buf, starts[factorAt[k]], ends[factorAt[k]], k + 1));
    if (args.exposure || args.offset) offsets.push(offset);
  };
  const scanner = new LineScanner(onLine);
  const utf8 = new Utf8Check();
  let data = 0;
  const input = createReadStream(args.data, { highWaterMark: 1 << 20 });
  input.on('error', (error) => utf8.destroy(error)); // pipe() does not forward a read error (e.g. ENOENT)
  try {
    for await (const chunk of input.pipe(utf8) as AsyncIterable<Buffer>) {
      if (utf8.invalidAt !== undefined || scanner.push(chunk)) throw new NotSimple();
      data += chunk.length;
    }
  } finally {
    input.destroy();
  }
  if (utf8.invalidAt !== undefined || scanner.push(Buffer.alloc(0), true) || width < 0 || data === 0) throw new NotSimple();
  if (ys.length + out.missingRows === 0) throw new NotSimple();
  return { ...out, y: ys.values(), X: xs.values(), offset: offsets.values(), groups: groups.codes(), factors };
}

/** Texts numbered in order of first appearance: each row's number, and the distinct texts. */
class TextCodes {
  readonly levels: string[] = [];
  private readonly numberOf = new Map<string, number>();
  private list = new Int32Array(1024);
  private length = 0;
  private lastText: string | undefined;
  private lastCode = -1;

  push(text: string): void {
    let code = this.lastCode;
    if (text !== this.lastText) {
      const known = this.numberOf.get(text);
      if (known === undefined) {
        code = this.levels.length;
        this.numberOf.set(text, code);
        this.levels.push(text);
      } else code = known;
      this.lastText = text;
      this.lastCode = code;
    }
    if (this.length === this.list.length) {
      const bigger = new Int32Array(this.list.length * 2);
      bigger.set(this.list);
      this.list = bigger;
    }
    this.list[this.length++] = code;
  }

  codes(): Int32Array {
    return this.list.subarray(0, this.length);
  }
}

/** A growing list of numbers in a Float64Array. */
class Floats {
  private buffer = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.buffer.length) {
      const bigger = new Float64Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[this.length++] = value;
  }

  /** the numbers pushed (a view of the buffer) */
  values(): Float64Array {
    return this.buffer.subarray(0, this.length);
  }
}

/** Reads the CSV and builds the design: the fast read when the file is simple, else the full reader. */
async function loadDesign(args: ParsedArgs): Promise<LoadedTable> {
  const needed = [...(args.model === 'nb2' || !args.id ? [] : [args.id]), args.y, ...args.x, ...args.factors];
  const extra = args.exposure ?? args.offset;
  if (extra) needed.push(extra);
  let columns: Columns;
  try {
    columns = await loadSimple(args, needed);
  } catch (error) {
    if (!(error instanceof NotSimple) && !(typeof (error as { code?: unknown }).code === 'string')) throw error;
    columns = await loadFull(args);
  }
  return buildDesign(args, columns);
}

/** The full reader (csv-parse, RFC 4180): every bad cell is an error naming its row and column. */
async function loadFull(args: ParsedArgs): Promise<Columns> {
  // loaded here: a simple file (the common case) is read without it
  const { parse } = await import('csv-parse');
  const file = args.data;
  const needed = [...(args.model === 'nb2' || !args.id ? [] : [args.id]), args.y, ...args.x, ...args.factors];
  const extra = args.exposure ?? args.offset;
  if (extra) needed.push(extra);
  const y: number[] = [];
  const X: number[] = [];
  const groups: string[] = [];
  const offset: number[] = [];
  const factorValues: string[][] = args.factors.map(() => []);
  let missingRows = 0;
  const input = createReadStream(file);
  // csv-parse keys each record by column name: a name given twice would silently mean its last column, so a needed
  // column must be named once (other repeated names, e.g. empty trailing columns of a spreadsheet export, do no harm)
  const columns = (header: string[]): string[] => {
    const names = header.map((h) => h.trim());
    for (const column of new Set(needed)) {
      const at = names.flatMap((name, i) => (name === column ? [i + 1] : []));
      if (at.length > 1) {
        throw new SpillwayError('invalidInput', `column "${column}" appears ${at.length} times in the header (columns ${at.join(' and ')})`, {
          file,
          line: 1,
          field: column,
          expected: 'each column used by the model named once',
          hint: 'rename or remove the other column',
        });
      }
    }
    return names;
  };
  const parser = parse({ columns, skip_empty_lines: true, trim: true, info: true, bom: true });
  // bytes that are not UTF-8 would be read as U+FFFD, and two ids that differ only there would become one group
  const utf8 = new Utf8Check();
  const notUtf8 = (where: { line?: number; row?: number } = {}) =>
    new SpillwayError('invalidInput', `not valid UTF-8 at byte offset ${utf8.invalidAt}`, {
      file,
      ...where,
      expected: 'UTF-8 text',
      hint: 'convert the file to UTF-8 (e.g. iconv -f GB18030 -t UTF-8 in.csv > out.csv)',
      context: { byte_offset: utf8.invalidAt },
    });
  input.on('error', (error) => parser.destroy(error)); // pipe() does not forward a read error (e.g. ENOENT)
  input.pipe(utf8).pipe(parser);
  let checkedHeader = false;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number; records: number; bytes: number } }>) {
      if (utf8.invalidAt !== undefined && info.bytes > utf8.invalidAt) throw notUtf8({ line: info.lines, row: info.records + 1 });
      if (!checkedHeader) {
        for (const column of needed) {
          if (!Object.hasOwn(record, column)) { // own keys only: --y constructor is not a column
            throw new SpillwayError('invalidInput', `column "${column}" is not in the file`, {
              file,
              line: 1,
              field: column,
              expected: `a header with ${[...new Set(needed)].join(', ')}`,
              hint: `the file has columns: ${Object.keys(record).join(', ')}`,
            });
          }
        }
        checkedHeader = true;
      }
      const row = info.records + 1; // data row number counting the header as row 1, like a spreadsheet
      const where = (field: string) => ({ file, line: info.lines, row, field });
      if (needed.some((column) => MISSING.has(record[column]))) {
        missingRows++;
        continue;
      }
      const number = (field: string, expected = 'a number'): number => {
        const text = record[field];
        const value = Number(text);
        if (!Number.isFinite(value)) {
          const what = Number.isNaN(value) ? 'is not a number' : `is out of range: it overflows a 64-bit float to ${value}`;
          throw new SpillwayError('invalidInput', `"${text}" ${what}`, { ...where(field), expected, hint: 'fix the cell, or leave it empty to drop the row' });
        }
        return value;
      };
      const count = number(args.y, 'a non-negative integer count');
      if (count < 0 || !Number.isInteger(count)) {
        throw new SpillwayError('invalidInput', `${count < 0 ? 'negative' : 'fractional'} count ${record[args.y]}`, {
          ...where(args.y),
          expected: 'a non-negative integer count',
        });
      }
      y.push(count);
      for (const column of args.x) {
        const value = number(column);
        if (Math.abs(value) > MAX_REGRESSOR_MAGNITUDE) {
          throw new SpillwayError('invalidInput', `regressor value ${record[column]} is too large for the estimator (|x| > ${MAX_REGRESSOR_MAGNITUDE}): its square overflows`, {
            ...where(column),
            expected: `a number with |x| ≤ ${MAX_REGRESSOR_MAGNITUDE}`,
            hint: 'rescale the column (other units, or its log)',
          });
        }
        X.push(value);
      }
      if (args.model !== 'nb2' && args.id) groups.push(record[args.id]);
      args.factors.forEach((column, k) => factorValues[k].push(record[column]));
      if (args.exposure) {
        const exposure = number(args.exposure, 'a positive exposure');
        if (!(exposure > 0)) {
          throw new SpillwayError('invalidInput', `exposure ${record[args.exposure]} is not positive`, { ...where(args.exposure), expected: 'a positive exposure (its log is the offset)' });
        }
        offset.push(Math.log(exposure));
      } else if (args.offset) offset.push(number(args.offset));
    }
  } catch (error) {
    if (error instanceof SpillwayError) throw error;
    const e = error as NodeJS.ErrnoException & { lines?: number; code?: string };
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES') {
      throw new SpillwayError('invalidInput', `cannot read ${file} (${e.code})`, { file, hint: 'check the --data path' });
    }
    throw new SpillwayError('invalidInput', `malformed CSV: ${e.message}`, { file, line: e.lines, expected: 'RFC 4180 CSV with a header row' });
  }
  if (utf8.invalidAt !== undefined) throw notUtf8();
  if (!checkedHeader) throw new SpillwayError('invalidInput', 'the file has no data rows', { file, expected: 'a header row and at least one data row' });
  const groupCodes = new TextCodes();
  for (const id of groups) groupCodes.push(id);
  const factors = factorValues.map((values) => {
    const codes = new TextCodes();
    for (const value of values) codes.push(value);
    return codes;
  });
  return { y, X, groups: groupCodes.codes(), offset, factors, missingRows };
}

function buildDesign(args: ParsedArgs, { y, X, groups, offset, factors, missingRows }: Columns): LoadedTable {
  const names = [...args.x];
  const baseLevels: string[] = [];
  // levels, names and base depend only on the distinct values: expand those, then set each row's one indicator
  const columnOf: Int32Array[] = [];
  for (let k = 0; k < args.factors.length; k++) {
    const distinct = factors[k].levels;
    const factor = expandFactor(distinct, { name: args.factors[k] });
    const at = new Int32Array(distinct.length).fill(-1);
    factor.columns.forEach((column, j) => (at[column.indexOf(1)] = names.length + j));
    names.push(...factor.names);
    baseLevels.push(factor.base);
    columnOf.push(at);
  }
  // the --x numbers as read (n × k, row-major), the factors as one indicator column number per row (-1: base level)
  const indicators = columnOf.map((at, f) => {
    const codes = factors[f].codes();
    const first = at.reduce((lowest, c) => (c >= 0 && c < lowest ? c : lowest), Infinity);
    const columns = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) columns[i] = at[codes[i]] < 0 ? -1 : at[codes[i]] - first;
    return { codes: columns, count: at.filter((c) => c >= 0).length };
  });
  const n = y.length;
  const k = args.x.length;
  const values = X instanceof Float64Array && X.length === n * k ? X : Float64Array.from(X);
  const design: PackedCountDesign = { y, X: { values, width: k, indicators }, names };
  if (args.model !== 'nb2') design.groups = groups;
  if (args.exposure || args.offset) design.offset = offset;
  return { design, missingRows, baseLevels };
}

/**
 * The text of a cell without a new string for each row: a cell of plain digits (years, numeric ids; no leading zero) is
 * looked up by its value, a cell of up to 6 bytes (ids, codes) by its bytes packed exactly into one number with its
 * length; longer cells, and any cell once 65,536 are known, are decoded. A cell equal to the previous one asked for with
 * the same `slot` (a panel's id column repeats its value row after row) is answered without a lookup.
 */
class CellText {
  private readonly known = new Map<number, string>();
  private readonly knownIntegers = new Map<number, string>();
  /** per slot: the previous cell's bytes (up to 16) and text */
  private readonly lastBytes: Uint8Array[] = [];
  private readonly lastLength: number[] = [];
  private readonly lastText: string[] = [];

  get(buf: Buffer, start: number, end: number, slot = -1): string {
    const length = end - start;
    if (slot >= 0 && length <= 16) {
      if (slot >= this.lastBytes.length) {
        for (let k = this.lastBytes.length; k <= slot; k++) {
          this.lastBytes.push(new Uint8Array(16));
          this.lastLength.push(-1);
          this.lastText.push('');
        }
      }
      const bytes = this.lastBytes[slot];
      if (this.lastLength[slot] === length) {
        let same = true;
        for (let i = 0; i < length; i++) {
          if (bytes[i] !== buf[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return this.lastText[slot];
      }
      const text = this.lookUp(buf, start, end);
      for (let i = 0; i < length; i++) bytes[i] = buf[start + i];
      this.lastLength[slot] = length;
      this.lastText[slot] = text;
      return text;
    }
    return this.lookUp(buf, start, end);
  }

  private lookUp(buf: Buffer, start: number, end: number): string {
    const length = end - start;
    if (length > 0 && length <= 9 && (length === 1 || buf[start] !== 48)) {
      // plain digits: the value is a small integer key (and the text is String(value))
      let value = 0;
      let i = start;
      for (; i < end; i++) {
        const d = buf[i] - 48;
        if (d < 0 || d > 9) break;
        value = value * 10 + d;
      }
      if (i === end) {
        let text = this.knownIntegers.get(value);
        if (text === undefined) {
          text = buf.toString('utf8', start, end);
          if (this.knownIntegers.size < 65536) this.knownIntegers.set(value, text);
        }
        return text;
      }
    }
    if (length > 6) return buf.toString('utf8', start, end);
    let key = length;
    for (let i = start; i < end; i++) key = key * 256 + buf[i];
    let text = this.known.get(key);
    if (text === undefined) {
      text = buf.toString('utf8', start, end);
      if (this.known.size < 65536) this.known.set(key, text);
    }
    return text;
  }
}

function stars(p: number): string {
  return p < 0.01 ? '***' : p < 0.05 ? '**' : p < 0.1 ? '*' : '';
}

function formatNumber(v: number, width: number, digits = 6): string {
  if (!Number.isFinite(v)) return (Number.isNaN(v) ? '.' : String(v)).padStart(width);
  const text = Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(digits - 2) : v.toFixed(digits);
  return text.padStart(width);
}

function fixed(v: number, digits: number, width: number): string {
  return (Number.isFinite(v) ? v.toFixed(digits) : '.').padStart(width);
}

const MODEL_TITLES: Record<CountModel, string> = {
  'hhg-fenb': 'Conditional FE negative binomial (HHG 1984; Stata xtnbreg, fe)',
  'fe-poisson': 'Conditional FE Poisson (Stata xtpoisson, fe)',
  nb2: 'Negative binomial NB2 (Stata nbreg)',
};

export function formatTable(fit: FitResult, baseLevels: string[], missingRows: number): string {
  const names = Object.keys(fit.coef);
  const width = Math.max(12, ...names.map((n) => n.length), ...baseLevels.map((n) => n.length)) + 1;
  const lines: string[] = [];
  lines.push(MODEL_TITLES[fit.model]);
  lines.push(
    `Number of obs = ${fit.n}` +
      (fit.groups !== null ? `   Number of groups = ${fit.groups}   dropped all-zero/singleton groups = ${fit.dropped_groups} (${fit.dropped_observations} obs)` : '') +
      (missingRows > 0 ? `   rows with missing cells left out = ${missingRows}` : ''),
  );
  lines.push(`Log likelihood = ${fit.loglik.toFixed(6)}   AIC = ${fit.aic.toFixed(3)}   BIC = ${fit.bic.toFixed(3)}` + (fit.wald ? `   Wald chi2(${fit.wald.df}) = ${fit.wald.chi2.toFixed(2)}` : ''));
  const id = fit.identification;
  lines.push(
    `Iterations = ${fit.iterations}   converged = ${fit.converged ? 'yes' : 'NO'}` +
      (id ? `   near-flat likelihood = ${id.near_flat ? 'YES' : 'no'} (2·(log L − FE Poisson limit ${id.fe_poisson_loglik.toFixed(4)}) = ${id.lr_vs_fe_poisson.toPrecision(3)})` : ''),
  );
  const rule = '-'.repeat(width + 13 * 4 + 26 + 4);
  lines.push(rule);
  lines.push(`${''.padEnd(width)}${'Coef.'.padStart(13)}${'Std. Err.'.padStart(13)}${'z'.padStart(9)}${'P>|z|'.padStart(8)}${'[95% Conf. Interval]'.padStart(28)}`);
  lines.push(rule);
  for (const name of names) {
    const [lo, hi] = fit.ci95[name];
    lines.push(
      `${name.padEnd(width)}${formatNumber(fit.coef[name], 13)}${formatNumber(fit.se[name], 13)}${fixed(fit.z[name], 2, 9)}${fixed(fit.p[name], 3, 8)}${formatNumber(lo, 14)}${formatNumber(hi, 14)} ${stars(fit.p[name])}`,
    );
  }
  for (const base of baseLevels) lines.push(`${base.padEnd(width)}${'0'.padStart(13)}  (base)`);
  if (fit.model === 'nb2') {
    lines.push(rule);
    lines.push(`${'/lnalpha'.padEnd(width)}${formatNumber(fit.ancillary.lnalpha, 13)}${formatNumber(fit.ancillary.se_lnalpha, 13)}`);
    lines.push(`${'alpha'.padEnd(width)}${formatNumber(fit.ancillary.alpha, 13)}${formatNumber(fit.ancillary.se_alpha, 13)}`);
  }
  lines.push(rule);
  lines.push('*** p<0.01, ** p<0.05, * p<0.1');
  for (const d of fit.dropped_columns) lines.push(`note: ${d.name} omitted: ${d.reason}`);
  for (const w of fit.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseCommandLine(argv);
  if (args === 'help') {
    process.stdout.write(HELP + '\n');
    return ExitCode.ok;
  }
  const { design, missingRows, baseLevels } = await loadDesign(args);
  const fit = fitCountModel(design, { model: args.model, addConstant: args.constant });
  if (args.json) {
    const out = {
      model: fit.model,
      coef: fit.coef,
      se: fit.se,
      loglik: fit.loglik,
      n: fit.n,
      groups: fit.groups,
      dropped_groups: fit.dropped_groups,
      dropped_columns: fit.dropped_columns,
      iterations: fit.iterations,
      converged: fit.converged,
      z: fit.z,
      p: fit.p,
      ci95: fit.ci95,
      ancillary: fit.ancillary,
      aic: fit.aic,
      bic: fit.bic,
      dropped_observations: fit.dropped_observations,
      missing_rows: missingRows,
      base_levels: baseLevels,
      wald: fit.wald ?? null,
      convergence: fit.convergence,
      warnings: fit.warnings,
      near_flat: fit.identification?.near_flat ?? false,
      identification: fit.identification ?? null,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    process.stdout.write(formatTable(fit, baseLevels, missingRows) + '\n');
  }
  return fit.converged && !fit.identification?.near_flat ? ExitCode.ok : ExitCode.notConverged;
}
