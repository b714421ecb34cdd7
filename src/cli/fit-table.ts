// The CSV file `spillway fit` reads, as a count-model design: a fast read of plain files straight into typed arrays,
// and the full reader (csv-parse) for everything else, whose messages name the file, row and column.
import { isUtf8 } from 'node:buffer';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { SpillwayError } from '../errors.js';
import { decimalValue } from '../data/decimal.js';
import { expandFactor, type CountModel, type PackedCountDesign } from '../stats/count/index.js';
import { MAX_REGRESSOR_MAGNITUDE } from '../stats/count/prepare.js';

/** cells read as missing (the row is then left out, as Stata and R do): empty, R's NA, Stata's "." */
const MISSING = new Set(['', 'NA', '.']);

/** What of `spillway fit`'s command line the reading needs. */
export interface TableArgs {
  data: string;
  id?: string;
  y: string;
  x: string[];
  factors: string[];
  exposure?: string;
  offset?: string;
  model: CountModel;
}

export interface LoadedTable {
  design: PackedCountDesign;
  /** rows left out for a missing cell */
  missingRows: number;
  baseLevels: string[];
}

/** Anything the fast read of the simple case is not sure of: the file is then read again by the full reader. */
class NotSimple extends Error {}

/** The columns and rows of a table as the readers give them to buildDesign. */
interface Columns {
  y: ArrayLike<number>;
  /** the --x values, row after row (args.x.length per row): no array per row */
  X: ArrayLike<number>;
  /** the panel id of each row as a number: ids numbered in order of first appearance */
  groups: ArrayLike<number>;
  offset: ArrayLike<number>;
  /** per --factor column: each row's level as a number, and the levels' texts in order of first appearance */
  factors: Coded[];
  missingRows: number;
}

/** Each row's text as a number (in order of first appearance), and the distinct texts. */
interface Coded {
  readonly levels: string[];
  codes(): Int32Array;
}

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;
const SPACE = 32;
/** bytes read at a time by the fast read */
const CHUNK = 1 << 22;
/** a longer line is left to the full reader */
const MAX_LINE = 1 << 24;

/**
 * The fast read: the file's bytes read in large chunks (synchronously: nothing else runs meanwhile), split into lines and
 * fields and parsed straight into typed arrays in one pass per chunk, ids and factor levels numbered from their bytes.
 * It reads only files it is sure of — UTF-8, no quote, LF or CRLF line ends used throughout, no stray CR, no space
 * around a text cell, the header's field count on every row, each cell valid — and throws NotSimple at anything else,
 * so that every error and every unusual file goes to the full reader below and gets its message from there. Same
 * values as that reader: a plain decimal (sign, digits, point, digits; at most 15 digits) is m / 10^k, which is exactly
 * Number() of its text (both exact doubles, one correctly rounded division); any other number is Number() of its text.
 */
function loadSimple(args: TableArgs, needed: string[]): Columns {
  if (args.data.endsWith('.gz')) throw new NotSimple(); // gzip-compressed (by its name, as src/data/csv.ts reads it)
  const fd = openSync(args.data, 'r');
  try {
    const size = fstatSync(fd).size;
    let reader: FastReader | undefined;
    let buffer = Buffer.allocUnsafe(Math.min(CHUNK, size + 1));
    let kept = 0; // bytes of an unfinished line carried at the start of `buffer`
    let offset = 0;
    for (;;) {
      if (kept === buffer.length) {
        if (kept > MAX_LINE) throw new NotSimple();
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, kept);
        buffer = bigger;
      }
      const got = readSync(fd, buffer, kept, buffer.length - kept, offset);
      offset += got;
      const length = kept + got;
      if (got === 0) {
        // the file's last line, without a line break: read as if it had one (LF files only, as csv-parse does)
        if (length === 0) break;
        if (reader === undefined || reader.crlf) throw new NotSimple();
        const last = Buffer.allocUnsafe(length + 1);
        buffer.copy(last, 0, 0, length);
        last[length] = LF;
        if (!isUtf8(last) || last.indexOf(QUOTE) >= 0) throw new NotSimple();
        reader.lines(last, 0, length + 1);
        break;
      }
      const end = buffer.lastIndexOf(LF, length - 1) + 1; // complete lines: [0, end)
      if (end > 0) {
        const lines = buffer.subarray(0, end);
        if (!isUtf8(lines) || lines.indexOf(QUOTE) >= 0) throw new NotSimple();
        reader ??= new FastReader(args, needed, lines, expectedRows(lines, size));
        reader.lines(lines, reader.at, end);
        reader.at = 0;
      }
      kept = length - end;
      if (kept > 0) buffer.copy(buffer, 0, end, length);
    }
    if (reader === undefined || reader.rows + reader.missingRows === 0) throw new NotSimple();
    return reader.columns();
  } finally {
    closeSync(fd);
  }
}

/** the number of lines in a file of `size` bytes, from those in its first 64 KiB (`data`): a little more, rather than less */
function expectedRows(data: Buffer, size: number): number {
  const sample = Math.min(data.length, 1 << 16);
  let count = 0;
  for (let at = data.indexOf(LF); at >= 0 && at < sample; at = data.indexOf(LF, at + 1)) count++;
  return Math.ceil((size / sample) * count * 1.1) + 64;
}

const MISSING_CELL = 1;
const BAD_CELL = 2;

/** Lines of a simple CSV file to typed arrays (see loadSimple). */
class FastReader {
  /** where the next call of lines() starts in its buffer (past a byte-order mark and the header in the first one) */
  at = 0;
  /** CRLF line ends (from the first line's), else LF */
  readonly crlf: boolean;
  rows = 0;
  missingRows = 0;
  /** the line just split: 0, or MISSING_CELL (a used cell is empty, NA or "."), or BAD_CELL (see split) */
  private state = 0;
  private readonly width: number;
  /** per column: 1 when parsed as a number (y, --x, exposure or offset) */
  private readonly numeric: Uint8Array;
  /** per column: 1 when used by the model (a missing cell there leaves the row out) */
  private readonly needed: Uint8Array;
  private readonly yAt: number;
  private readonly xAt: Int32Array;
  private readonly extraAt: number;
  private readonly exposure: boolean;
  /** the id column (when kept) then each --factor column, and their codes */
  private readonly textAt: Int32Array;
  private readonly texts: ByteCodes[];
  private readonly keepGroups: boolean;
  // one row's fields, reused
  private readonly values: Float64Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  // the rows read
  private capacity: number;
  private y: Float64Array;
  private X: Float64Array;
  private offset: Float64Array;

  constructor(
    private readonly args: TableArgs,
    neededNames: string[],
    first: Buffer,
    rowsExpected: number,
  ) {
    let pos = first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf ? 3 : 0; // a byte-order mark: skipped
    // the line break is the first line's (csv-parse detects it there); empty lines before the header are skipped
    const firstBreak = first.indexOf(LF, pos);
    this.crlf = firstBreak > pos && first[firstBreak - 1] === CR;
    for (;;) {
      if (first[pos] === LF && !this.crlf) pos++;
      else if (first[pos] === CR && first[pos + 1] === LF && this.crlf) pos += 2;
      else break;
    }
    if (pos >= first.length) throw new NotSimple();
    const lineEnd = first.indexOf(LF, pos);
    const contentEnd = this.crlf ? lineEnd - 1 : lineEnd;
    if (first[contentEnd] !== (this.crlf ? CR : LF)) throw new NotSimple();
    const header = first.subarray(pos, contentEnd);
    if (header.indexOf(CR) >= 0) throw new NotSimple();
    const names: string[] = [];
    for (let from = 0; ; ) {
      const comma = header.indexOf(COMMA, from);
      const to = comma < 0 ? header.length : comma;
      if (to > from && (header[from] <= SPACE || header[to - 1] <= SPACE)) throw new NotSimple(); // csv-parse would trim it
      const name = header.toString('utf8', from, to);
      if (name.trim() !== name) throw new NotSimple(); // the full reader trims every name (also U+00A0, U+3000, …)
      names.push(name);
      if (comma < 0) break;
      from = comma + 1;
    }
    this.at = lineEnd + 1;
    const at = (column: string): number => {
      const i = names.indexOf(column);
      if (i < 0 || names.indexOf(column, i + 1) >= 0) throw new NotSimple(); // missing or repeated
      return i;
    };
    const width = (this.width = names.length);
    this.needed = new Uint8Array(width);
    for (const column of neededNames) this.needed[at(column)] = 1;
    this.numeric = new Uint8Array(width);
    this.yAt = at(args.y);
    this.xAt = Int32Array.from(args.x, at);
    const extra = args.exposure ?? args.offset;
    this.extraAt = extra ? at(extra) : -1;
    this.exposure = args.exposure !== undefined;
    for (const i of [this.yAt, ...this.xAt, ...(extra ? [this.extraAt] : [])]) this.numeric[i] = 1;
    this.keepGroups = args.model !== 'nb2' && args.id !== undefined;
    this.textAt = Int32Array.from([...(this.keepGroups ? [at(args.id!)] : []), ...args.factors.map(at)]);
    this.capacity = rowsExpected;
    this.texts = Array.from(this.textAt, () => new ByteCodes(rowsExpected));
    this.values = new Float64Array(width);
    this.starts = new Int32Array(width);
    this.ends = new Int32Array(width);
    this.y = new Float64Array(rowsExpected);
    this.X = new Float64Array(rowsExpected * args.x.length);
    this.offset = new Float64Array(extra ? rowsExpected : 0);
  }

  /** Reads the lines in data[from, to), which ends with a line break. */
  lines(data: Buffer, from: number, to: number): void {
    const crlf = this.crlf;
    let pos = from;
    while (pos < to) {
      // an empty line: skipped (csv-parse's skip_empty_lines)
      const head = data[pos];
      if (head === LF) {
        if (crlf) throw new NotSimple();
        pos++;
        continue;
      }
      if (head === CR && data[pos + 1] === LF) {
        if (!crlf) throw new NotSimple();
        pos += 2;
        continue;
      }
      pos = this.split(data, pos);
      if (this.state === MISSING_CELL) this.missingRows++;
      else if (this.state === BAD_CELL) throw new NotSimple();
      else this.row(data);
    }
  }

  /**
   * Splits the line at `pos` into fields and parses its numbers (a function of its own, small enough for V8 to compile
   * soon); returns where the next line starts, and sets `state`.
   */
  private split(data: Buffer, pos: number): number {
    const { width, numeric, needed, values, starts, ends, crlf } = this;
    let missing = false; // a used cell is empty, NA or "."
    let bad = false; // a text cell with a space at either end (an error unless the row is left out)
    let i = pos;
    let column = 0;
    let c: number;
    for (;;) {
      if (column === width) throw new NotSimple(); // more fields than the header
      const start = i;
      if (numeric[column] === 1) {
        // a plain decimal: [sign] digits [. digits]
        let negative = false;
        c = data[i];
        if (c === 45) {
          negative = true;
          c = data[++i];
        } else if (c === 43) c = data[++i];
        let mantissa = 0;
        const digitsFrom = i;
        while (c >= 48 && c <= 57) {
          mantissa = mantissa * 10 + (c - 48);
          c = data[++i];
        }
        let digits = i - digitsFrom;
        let fraction = 0;
        if (c === 46) {
          const point = ++i;
          c = data[i];
          while (c >= 48 && c <= 57) {
            mantissa = mantissa * 10 + (c - 48);
            c = data[++i];
          }
          fraction = i - point;
          digits += fraction;
        }
        if (digits > 0 && (c === COMMA || c === LF || c === CR)) {
          values[column] = decimalValue(data, start, i, mantissa, digits, fraction, negative);
        } else {
          c = data[i];
          while (c !== COMMA && c !== LF && c !== CR) c = data[++i];
          if (isMissing(data, start, i)) missing = true;
          else if (data[start] <= SPACE || data[i - 1] <= SPACE) values[column] = NaN; // csv-parse would trim it
          else values[column] = Number(data.toString('utf8', start, i));
        }
      } else {
        c = data[i];
        while (c !== COMMA && c !== LF && c !== CR) c = data[++i];
        if (needed[column] === 1) {
          if (isMissing(data, start, i)) missing = true;
          else if (data[start] <= SPACE || data[i - 1] <= SPACE || (data[i - 1] >= 0x80 && endsInSpace(data, start, i))) bad = true;
        }
      }
      starts[column] = start;
      ends[column] = i;
      column++;
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === CR) {
        if (!crlf || data[i + 1] !== LF) throw new NotSimple(); // a CR that does not end a CRLF line
        i++;
      } else if (crlf) throw new NotSimple(); // an LF line in a CRLF file
      break;
    }
    if (column !== width) throw new NotSimple(); // fewer fields than the header
    this.state = missing ? MISSING_CELL : bad ? BAD_CELL : 0;
    return i + 1;
  }

  /** Stores the row just split (no missing cell). */
  private row(data: Buffer): void {
    const { values, xAt } = this;
    const n = this.rows;
    if (n === this.capacity) this.grow();
    const count = values[this.yAt];
    if (!(count >= 0 && Number.isInteger(count))) throw new NotSimple();
    this.y[n] = count;
    const k = xAt.length;
    const X = this.X;
    for (let j = 0; j < k; j++) {
      const value = values[xAt[j]];
      if (!(Math.abs(value) <= MAX_REGRESSOR_MAGNITUDE)) throw new NotSimple(); // too large, or not a number
      X[n * k + j] = value;
    }
    if (this.extraAt >= 0) {
      const value = values[this.extraAt];
      if (!Number.isFinite(value)) throw new NotSimple();
      if (this.exposure) {
        if (!(value > 0)) throw new NotSimple();
        this.offset[n] = Math.log(value);
      } else this.offset[n] = value;
    }
    const { textAt, texts, starts, ends } = this;
    for (let t = 0; t < textAt.length; t++) texts[t].push(data, starts[textAt[t]], ends[textAt[t]]);
    this.rows = n + 1;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const bigger = (values: Float64Array, size: number) => {
      const out = new Float64Array(size);
      out.set(values);
      return out;
    };
    this.y = bigger(this.y, capacity);
    this.X = bigger(this.X, capacity * this.xAt.length);
    if (this.extraAt >= 0) this.offset = bigger(this.offset, capacity);
    this.capacity = capacity;
  }

  columns(): Columns {
    const n = this.rows;
    const texts = this.keepGroups ? this.texts.slice(1) : this.texts;
    return {
      missingRows: this.missingRows,
      y: this.y.subarray(0, n),
      X: this.X.subarray(0, n * this.xAt.length),
      offset: this.offset.subarray(0, this.extraAt >= 0 ? n : 0),
      groups: this.keepGroups ? this.texts[0].codes() : new Int32Array(0),
      factors: texts,
    };
  }
}

/**
 * a cell ending in a non-ASCII white space character (U+00A0, U+3000, U+2028, U+FEFF, …): csv-parse's trim cuts the end
 * of a cell with String.prototype.trimEnd (its start only of ASCII space, tab, CR, LF, FF), so that "R1\u00a0" is "R1"
 * there. \s is exactly the set trimEnd removes.
 */
function endsInSpace(buf: Buffer, start: number, end: number): boolean {
  return /\s$/u.test(buf.toString('utf8', start, end));
}

/** a cell read as missing: empty, "NA" or "." */
function isMissing(buf: Buffer, start: number, end: number): boolean {
  const n = end - start;
  if (n === 0) return true;
  if (n === 1) return buf[start] === 46; // "."
  return n === 2 && buf[start] === 78 && buf[start + 1] === 65; // "NA"
}

/** Each row's level number, in a typed array that doubles when full. */
class CodeList {
  private list: Int32Array;
  private length = 0;

  constructor(capacity = 1024) {
    this.list = new Int32Array(Math.max(capacity, 1));
  }

  protected append(code: number): void {
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

/**
 * Cells numbered by their bytes in order of first appearance (the same numbers as TextCodes gives their texts): a cell
 * equal to the previous one (a panel's id repeats row after row) without a lookup, a cell of plain digits (years,
 * numeric ids; no leading zero) by its value, a cell of up to 6 bytes by its bytes packed into one number with its
 * length, a longer one by its text. A text is made only for each new level.
 */
class ByteCodes extends CodeList implements Coded {
  readonly levels: string[] = [];
  private readonly byInteger = new Map<number, number>();
  private readonly byBytes = new Map<number, number>();
  private readonly byText = new Map<string, number>();
  private readonly last = new Uint8Array(32);
  private lastLength = -1;
  private lastCode = -1;

  constructor(capacity: number) {
    super(capacity);
  }

  push(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    let code = this.lastCode;
    if (n !== this.lastLength || !this.same(buf, start, n)) {
      code = this.lookUp(buf, start, end);
      if (n <= 32) {
        for (let i = 0; i < n; i++) this.last[i] = buf[start + i];
        this.lastLength = n;
      } else this.lastLength = -1;
      this.lastCode = code;
    }
    this.append(code);
  }

  private same(buf: Buffer, start: number, n: number): boolean {
    const last = this.last;
    for (let i = n - 1; i >= 0; i--) if (last[i] !== buf[start + i]) return false; // from the end: ids differ there
    return true;
  }

  private lookUp(buf: Buffer, start: number, end: number): number {
    const n = end - start;
    let map: Map<number, number> | undefined;
    let key = 0;
    if (n > 0 && n <= 9 && (n === 1 || buf[start] !== 48)) {
      let i = start;
      for (; i < end; i++) {
        const d = buf[i] - 48;
        if (d < 0 || d > 9) break;
        key = key * 10 + d;
      }
      if (i === end) map = this.byInteger;
    }
    if (map === undefined && n <= 6) {
      key = n;
      for (let i = start; i < end; i++) key = key * 256 + buf[i]; // < 2^56: exact
      map = this.byBytes;
    }
    if (map === undefined) {
      const text = buf.toString('utf8', start, end);
      let code = this.byText.get(text);
      if (code === undefined) {
        code = this.levels.length;
        this.byText.set(text, code);
        this.levels.push(text);
      }
      return code;
    }
    let code = map.get(key);
    if (code === undefined) {
      code = this.levels.length;
      map.set(key, code);
      this.levels.push(buf.toString('utf8', start, end));
    }
    return code;
  }
}

/** Texts numbered in order of first appearance: each row's number, and the distinct texts. */
class TextCodes extends CodeList implements Coded {
  readonly levels: string[] = [];
  private readonly numberOf = new Map<string, number>();
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
    this.append(code);
  }
}

/** Reads the CSV and builds the design: the fast read when the file is simple, else the full reader. */
export async function loadDesign(args: TableArgs): Promise<LoadedTable> {
  const needed = [...(args.model === 'nb2' || !args.id ? [] : [args.id]), args.y, ...args.x, ...args.factors];
  const extra = args.exposure ?? args.offset;
  if (extra) needed.push(extra);
  let columns: Columns;
  try {
    columns = loadSimple(args, needed);
  } catch (error) {
    if (!(error instanceof NotSimple) && !(typeof (error as { code?: unknown }).code === 'string')) throw error;
    columns = await loadFull(args);
  }
  return buildDesign(args, columns);
}

/** The full reader (csv-parse, RFC 4180): every bad cell is an error naming its row and column. */
async function loadFull(args: TableArgs): Promise<Columns> {
  // loaded here: a simple file (the common case) is read without them (csv-scan's Utf8Check loads node:stream)
  const [{ parse }, { Utf8Check }] = await Promise.all([import('csv-parse'), import('../data/csv-scan.js')]);
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
  if (file.endsWith('.gz')) {
    // F.csv.gz is decompressed, as the data layer reads it (src/data/csv.ts); byte offsets are of the decompressed data
    const { createGunzip } = await import('node:zlib');
    const gunzip = createGunzip();
    gunzip.on('error', (error) => parser.destroy(Object.assign(new Error(`not a valid gzip file: ${error.message}`), { code: 'SPILLWAY_NOT_GZIP' })));
    input.pipe(gunzip).pipe(utf8).pipe(parser);
  } else input.pipe(utf8).pipe(parser);
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
    if (e.code === 'SPILLWAY_NOT_GZIP') {
      throw new SpillwayError('invalidInput', e.message, { file, expected: 'a gzip-compressed CSV (.csv.gz)', hint: 'a plain CSV file must not be named .gz: rename it to .csv' });
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

function buildDesign(args: TableArgs, { y, X, groups, offset, factors, missingRows }: Columns): LoadedTable {
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
