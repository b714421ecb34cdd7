// Streaming reader for the raw CSV files (docs/data-format.md): plain .csv or gzipped .csv.gz, header row, RFC 4180.
// Every data row is typed by the file's JSON Schema (schemas/raw/*.schema.json) and validated; a row that breaks the
// format either stops the read with file, row, line, column, expected and hint, or — when the caller's policy says
// 'drop' — is dropped and counted in the summary. Nothing is skipped silently.
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { finished, pipeline } from 'node:stream/promises';
import type { CsvError, Parser } from 'csv-parse';
import { LineScanner, Utf8Check, type Handover, type ScannedLine } from './csv-scan.js';

export { Utf8Check };
import type { ErrorObject, ValidateFunction } from 'ajv';
import type AjvClass from 'ajv';
import { SpillwayError } from '../errors.js';

// ajv and csv-parse are loaded when first needed (ajv is 80-160 ms of CPU to load and compile, more than reading a 10 MB
// file): a file of simple lines whose every row passes the compiled checks below needs neither. ajv is CommonJS, so it
// is required synchronously where a row needs it.
const require = createRequire(import.meta.url);
let Ajv: typeof AjvClass.default | undefined;

export type BadRowPolicy = 'fail' | 'drop';

/** A JSON Schema (draft-07) describing one row of a raw file as an object of typed columns. */
export interface RowSchema {
  title?: string;
  type?: 'object';
  properties: Record<string, { type?: string | string[]; description?: string; [k: string]: unknown }>;
  required?: string[];
  [k: string]: unknown;
}

/** Where a row is: `row` counts data rows from 1 (the header is not a row), `line` is the file line where it starts. */
export interface RowPosition {
  row: number;
  line: number;
}

/** A row-level problem a caller finds (e.g. an unknown region code); handled like a schema failure. */
export interface RowProblem {
  column?: string;
  message: string;
  expected?: string;
}

export interface BadRow extends RowProblem {
  row: number;
  line: number;
}

export interface CsvReadSummary {
  /** the file as named in messages (project-relative when the caller gave displayPath) */
  file: string;
  /** data rows seen, good and bad */
  rows_read: number;
  rows_accepted: number;
  rows_dropped: number;
  /** the first `maxReported` dropped rows with their reason */
  dropped_examples: BadRow[];
  /** header columns the schema does not know; read past, listed here so that nothing is ignored unknowingly */
  ignored_columns: string[];
}

export interface ReadCsvOptions {
  schema: RowSchema;
  /** 'fail' (default): the first bad row throws; 'drop': bad rows are dropped and counted */
  onBadRow?: BadRowPolicy;
  /** how to name the file in messages (default: the path) */
  displayPath?: string;
  /** the param that sets the policy, for the hint (e.g. 'ingest.on_bad_row') */
  policyParam?: string;
  /** how many dropped rows to list in the summary (default 20) */
  maxReported?: number;
  /**
   * For a pass that needs only a few rows (e.g. a second pass over candidate ids): a simple line (see LineScanner)
   * with the header's number of fields is handed to `test` with the bytes of `columns` (field j of `columns` spans
   * [starts[j], ends[j]) of `buf`); when it returns false the row is counted (rows_read, so that row numbers stay those
   * of the file) and neither typed, checked nor passed to onRow. `test` must return true for every row that matters
   * to the caller; every other line (and every line csv-parse reads after a hand-over) goes the usual way.
   */
  keepIf?: { columns: string[]; test: (buf: Buffer, starts: Int32Array, ends: Int32Array) => boolean };
  /**
   * Text columns the caller takes as bytes (e.g. ids it only hashes): onRow's `bytes` gives the UTF-8 bytes of each,
   * in this order, for every row. On a simple line no string is made for a byte column whose schema asks for nothing
   * but a minLength (checked on the bytes): its entry in `values` is then undefined. Rows read otherwise (csv-parse, or
   * a line judged by ajv) have both the string and the bytes.
   */
  byteColumns?: string[];
}

/** What onRow gets besides the typed values. Reused from row to row. */
export interface RowFields {
  /**
   * the bytes of the byteColumns: column j of ReadCsvOptions.byteColumns spans bytes [starts[j], ends[j]) of `buf`.
   * The bytes of a `buf` are never changed afterwards (each is a chunk of the stream or a fresh copy), so a caller may
   * keep a reference to it, with the offsets, instead of copying the bytes.
   */
  buf: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  /**
   * For each column of the schema (in values' order): when the column repeats, a small integer (0..4095) standing for
   * its value — the same value always has the same code within one read, different values different codes — so that a
   * caller can keep what it derives from a value in an array by code; −1 when the value has none (a column that does
   * not repeat, a long value, a number, or a row not read from a simple line).
   */
  codes: Int32Array;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function typesOf(prop: { type?: string | string[] } | undefined): string[] {
  if (!prop?.type) return [];
  return Array.isArray(prop.type) ? prop.type : [prop.type];
}

const validatorCache = new WeakMap<RowSchema, ValidateFunction>();
function validatorFor(schema: RowSchema): ValidateFunction {
  let validate = validatorCache.get(schema);
  if (!validate) {
    Ajv ??= (require('ajv') as typeof AjvClass).default;
    validate = new Ajv({ allErrors: false, strict: false }).compile(schema);
    validatorCache.set(schema, validate);
  }
  return validate;
}

function describeAjvError(error: ErrorObject, record: Record<string, unknown>, schema: RowSchema): RowProblem {
  const column =
    error.keyword === 'required'
      ? String((error.params as { missingProperty: string }).missingProperty)
      : error.instancePath.split('/')[1];
  const prop = column === undefined ? undefined : schema.properties[column];
  const value = column === undefined ? undefined : record[column];
  const shown = value === undefined ? '(missing)' : JSON.stringify(value);
  return {
    column,
    message: column === undefined ? `row ${error.message}` : `value ${shown} ${error.message}`,
    expected: prop?.description ?? (typesOf(prop).join(' or ') || undefined),
  };
}

/** A fast pre-check of one column compiled from its schema; true only when the value certainly passes ajv too. */
type FastCheck = (value: string | number) => boolean;

const FAST_KEYWORDS = new Set(['type', 'description', 'minLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum']);
const VALID_CACHE_LIMIT = 4096;

// ajv compiles a fine validator, but calling it on a fresh object per row dominated the read of millions of rows; the
// common case (a valid row) is decided here per column, and ajv is asked only when this check is not sure, so every
// message still comes from ajv and nothing ajv would reject gets through.
function fastCheckOf(prop: RowSchema['properties'][string] | undefined): FastCheck {
  if (!prop || Object.keys(prop).some((k) => !FAST_KEYWORDS.has(k))) return () => false;
  const types = typesOf(prop);
  if (types.length !== 1) return () => false;
  const [type] = types;
  if (type === 'string') {
    const minLength = typeof prop.minLength === 'number' ? prop.minLength : 0;
    const pattern = typeof prop.pattern === 'string' ? new RegExp(prop.pattern, 'u') : undefined;
    // values of a patterned column repeat (region codes, partner lists): remember a bounded number of valid ones
    const valid = new Set<string>();
    return (v) => {
      if (typeof v !== 'string') return false;
      // minLength counts code points: a string of n UTF-16 units has at least ceil(n/2)
      if (minLength > 0 && Math.ceil(v.length / 2) < minLength) return false;
      if (!pattern) return true;
      if (valid.has(v)) return true;
      if (!pattern.test(v)) return false;
      if (valid.size < VALID_CACHE_LIMIT) valid.add(v);
      return true;
    };
  }
  if (type === 'number' || type === 'integer') {
    const min = typeof prop.minimum === 'number' ? prop.minimum : -Infinity;
    const max = typeof prop.maximum === 'number' ? prop.maximum : Infinity;
    const exclusiveMin = typeof prop.exclusiveMinimum === 'number' ? prop.exclusiveMinimum : -Infinity;
    const integer = type === 'integer';
    return (v) => typeof v === 'number' && Number.isFinite(v) && (!integer || Number.isInteger(v)) && v >= min && v <= max && v > exclusiveMin;
  }
  return () => false;
}

// How the fast path checks a known column: a string with nothing to check, a string with a compiled check, a number
// or an integer within bounds, or not at all (the row goes to onData and, if need be, to ajv).
const UNSURE = 0;
const TEXT = 1;
const CHECKED_TEXT = 2;
/** a byte column (ReadCsvOptions.byteColumns) with at most a minLength to check: no string is made */
const BYTES = 3;
const NUMBER = 4;
const INTEGER = 5;

interface CheckPlan {
  kind: Uint8Array;
  /** minLength of a BYTES column (0 when none) */
  minLength: Float64Array;
  min: Float64Array;
  max: Float64Array;
  /** exclusiveMinimum (−Infinity when none) */
  above: Float64Array;
  text: (FastCheck | undefined)[];
}

/** The fast checks of the known columns in typed arrays: no call per numeric cell. Exactly what fastCheckOf decides. */
function planOf(schema: RowSchema, known: string[], checks: FastCheck[], byteColumns: string[] = []): CheckPlan {
  const n = known.length;
  const plan: CheckPlan = { kind: new Uint8Array(n), minLength: new Float64Array(n), min: new Float64Array(n).fill(-Infinity), max: new Float64Array(n).fill(Infinity), above: new Float64Array(n).fill(-Infinity), text: new Array(n) };
  known.forEach((c, k) => {
    const prop = schema.properties[c];
    if (!prop || Object.keys(prop).some((key) => !FAST_KEYWORDS.has(key))) return;
    const types = typesOf(prop);
    if (types.length !== 1) return;
    if (types[0] === 'string') {
      const plain = typeof prop.pattern !== 'string' && !(typeof prop.minLength === 'number' && prop.minLength > 0);
      if (byteColumns.includes(c) && typeof prop.pattern !== 'string') {
        plan.kind[k] = BYTES;
        if (typeof prop.minLength === 'number') plan.minLength[k] = prop.minLength;
        return;
      }
      plan.kind[k] = plain ? TEXT : CHECKED_TEXT;
      if (!plain) plan.text[k] = checks[k];
    } else if (types[0] === 'number' || types[0] === 'integer') {
      plan.kind[k] = types[0] === 'integer' ? INTEGER : NUMBER;
      if (typeof prop.minimum === 'number') plan.min[k] = prop.minimum;
      if (typeof prop.maximum === 'number') plan.max[k] = prop.maximum;
      if (typeof prop.exclusiveMinimum === 'number') plan.above[k] = prop.exclusiveMinimum;
    }
  });
  return plan;
}

const INTERN_MAX_BYTES = 64;
const INTERN_MAX_ENTRIES = 4096;
const INTERN_TRIAL = 4096;

/**
 * The strings of one text column, made once per distinct value while the column repeats (region codes and lists,
 * partner lists, titles of a query): a field's bytes are hashed and compared with those of the string made for them
 * before. The same string object each time also keeps its own hash, so the caller's Map lookups by it are cheaper.
 * A column that does not repeat (ids), or whose distinct values outgrow the table, is found out over a window of
 * INTERN_TRIAL values (most of them new) and read plainly from then on.
 * Bounded: at most INTERN_MAX_ENTRIES strings of at most INTERN_MAX_BYTES bytes. The table is open addressing over
 * typed arrays (hashes, lengths and bytes side by side), so a lookup reads a few cache lines and allocates nothing.
 */
class Interner {
  /** slot → entry + 1 (0: empty); twice as many slots as entries */
  private readonly table = new Int32Array(2 * INTERN_MAX_ENTRIES);
  private readonly hashes = new Int32Array(INTERN_MAX_ENTRIES);
  private readonly lengths = new Int32Array(INTERN_MAX_ENTRIES);
  private readonly bytes = new Uint8Array(INTERN_MAX_ENTRIES * INTERN_MAX_BYTES);
  private readonly texts: string[] = [];
  /** the column's compiled check has passed entry e's text */
  readonly passed = new Uint8Array(INTERN_MAX_ENTRIES);
  /** the entry of the string the last call returned, or −1 when it has none */
  last = -1;
  private size = 0;
  private lookups = 0;
  private misses = 0;
  private on = true;

  text(buf: Buffer, start: number, end: number): string {
    const n = end - start;
    this.last = -1;
    if (!this.on || n > INTERN_MAX_BYTES) return buf.toString('utf8', start, end);
    this.lookups++;
    let h = 0x811c9dc5 | 0; // an int32 throughout (as hashes[] holds it), the empty text's too
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const table = this.table;
    const mask = table.length - 1;
    let slot = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const e = table[slot] - 1;
      if (e < 0) break;
      if (this.hashes[e] === h && this.lengths[e] === n) {
        const bytes = this.bytes;
        const at = e * INTERN_MAX_BYTES - start;
        let i = start;
        while (i < end && bytes[at + i] === buf[i]) i++;
        if (i === end) {
          this.last = e;
          return this.texts[e];
        }
      }
      slot = (slot + 1) & mask;
    }
    const text = buf.toString('utf8', start, end);
    this.misses++;
    if (this.lookups >= INTERN_TRIAL) {
      if (this.misses * 4 > this.lookups * 3) {
        // mostly new values in this window: a column of ids or free text
        this.on = false;
        return text;
      }
      this.lookups = 0;
      this.misses = 0;
    }
    if (this.size < INTERN_MAX_ENTRIES) {
      const e = this.size++;
      table[slot] = e + 1;
      this.hashes[e] = h;
      this.lengths[e] = n;
      this.bytes.set(buf.subarray(start, end), e * INTERN_MAX_BYTES);
      this.texts.push(text);
      this.last = e;
    }
    return text;
  }
}

/** Whether bytes [start, end) of `buf` (valid UTF-8) hold at least `min` code points, as ajv's minLength counts them. */
function hasCodePoints(buf: Buffer, start: number, end: number, min: number): boolean {
  const n = end - start;
  if (n >= 4 * min) return true; // a code point is at most 4 bytes
  if (n < min) return false;
  let points = 0;
  for (let i = start; i < end; i++) if ((buf[i] & 0xc0) !== 0x80) points++;
  return points >= min;
}

/** The fields of a scanned line as strings (the slow path, and the header). */
function textsOf({ buf, starts, ends, count }: ScannedLine): string[] {
  const record = new Array<string>(count);
  for (let i = 0; i < count; i++) record[i] = buf.toString('utf8', starts[i], ends[i]);
  return record;
}

/** The text of a numeric column as a number, or the text itself when it is not a plain number (ajv then rejects it). */
function toNumber(text: string): string | number {
  // plain digits (the bulk: years, counts) are checked by char codes, without a regex or a trim
  const n = text.length;
  if (n > 0 && n < 16) {
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
    }
    if (i === n) return Number(text);
  }
  const trimmed = text.trim();
  return NUMBER_TEXT.test(trimmed) ? Number(trimmed) : text;
}

/**
 * Streams `path` and calls `onRow` with each valid row as an array of typed values in the order of the schema's
 * `properties` (numbers converted where the schema says number or integer), with its data row number and file line.
 * The array is reused from row to row: copy what you keep. `onRow` may return a RowProblem to reject the row
 * (handled by the same policy). Resolves to a summary. Memory does not depend on the number of rows.
 */
export async function readCsvRows(
  path: string,
  options: ReadCsvOptions,
  onRow: (values: (string | number)[], row: number, line: number, fields: RowFields) => RowProblem | void,
): Promise<CsvReadSummary> {
  const file = options.displayPath ?? path;
  const policy = options.onBadRow ?? 'fail';
  const maxReported = options.maxReported ?? 20;
  const schema = options.schema;
  const known = Object.keys(schema.properties);
  const required = schema.required ?? known;
  const numeric = known.map((c) => {
    const types = typesOf(schema.properties[c]);
    return types.includes('number') || types.includes('integer');
  });
  const checks = known.map((c) => fastCheckOf(schema.properties[c]));
  const byteColumns = options.byteColumns ?? [];
  const plan = planOf(schema, known, checks, byteColumns);
  // for each known column, its index in byteColumns (−1: not a byte column)
  const byteIndex = Int32Array.from(known, (c) => byteColumns.indexOf(c));
  const anyBytes = byteColumns.length > 0;
  const rowFields: RowFields = { buf: Buffer.alloc(0), starts: new Int32Array(byteColumns.length), ends: new Int32Array(byteColumns.length), codes: new Int32Array(known.length).fill(-1) };
  const unknownBytes = byteColumns.filter((c) => !known.includes(c));
  if (unknownBytes.length > 0) throw new RangeError(`byteColumns ${unknownBytes.join(', ')} not in the schema`);
  /** rowFields of a row read as text: the bytes from its strings, no codes */
  const fieldsOfTexts = (): RowFields => {
    rowFields.codes.fill(-1);
    if (byteColumns.length === 0) return rowFields;
    const texts = byteColumns.map((c) => {
      const v = values[known.indexOf(c)];
      return typeof v === 'string' ? v : '';
    });
    rowFields.buf = Buffer.from(texts.join(''), 'utf8');
    let at = 0;
    texts.forEach((t, j) => {
      rowFields.starts[j] = at;
      at += Buffer.byteLength(t, 'utf8');
      rowFields.ends[j] = at;
    });
    return rowFields;
  };
  const policyHint = options.policyParam
    ? `fix the row, or drop and count rows like it with --set ${options.policyParam}=drop`
    : 'fix the row';

  const summary: CsvReadSummary = {
    file,
    rows_read: 0,
    rows_accepted: 0,
    rows_dropped: 0,
    dropped_examples: [],
    ignored_columns: [],
  };

  const bad = (problem: RowProblem, position: RowPosition): void => {
    if (policy === 'drop') {
      summary.rows_dropped++;
      if (summary.dropped_examples.length < maxReported) summary.dropped_examples.push({ ...position, ...problem });
      return;
    }
    throw new SpillwayError('invalidInput', problem.message, {
      file,
      line: position.line,
      row: position.row,
      field: problem.column,
      expected: problem.expected,
      hint: policyHint,
    });
  };

  let header: string[] | undefined;
  // for each known column (schema order), its index in the file's header, or -1 when the file lacks it
  let sourceIndex: number[] = [];
  const values: (string | number)[] = new Array(known.length);

  const onHeader = (record: string[]): void => {
    header = record.map((h) => h.trim());
    const missing = required.filter((c) => !header!.includes(c));
    if (missing.length > 0) {
      throw new SpillwayError('invalidInput', `header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, {
        file,
        line: 1,
        expected: `a header row with the columns ${known.join(',')}`,
        hint: 'see docs/data-format.md for the format of each raw file',
      });
    }
    const again = header.findIndex((h, i) => header!.indexOf(h) !== i);
    if (again >= 0) {
      const duplicate = header[again];
      throw new SpillwayError('invalidInput', `header names column "${duplicate}" twice (columns ${header.indexOf(duplicate) + 1} and ${again + 1})`, {
        file,
        line: 1,
        field: duplicate,
        expected: 'each column name once',
        hint: 'rename or remove one of the two columns',
      });
    }
    summary.ignored_columns = header.filter((h) => !known.includes(h));
    sourceIndex = known.map((c) => header!.indexOf(c));
  };

  const onData = (record: string[], line: number): void => {
    summary.rows_read++;
    const row = summary.rows_read;
    if (record.length !== header!.length) {
      bad(
        { message: `row has ${record.length} fields, the header has ${header!.length}`, expected: `${header!.length} comma-separated fields (quote fields that contain commas)` },
        { row, line },
      );
      return;
    }
    let sure = true;
    for (let k = 0; k < known.length; k++) {
      const at = sourceIndex[k];
      if (at < 0) {
        values[k] = undefined as unknown as string;
        sure = false;
        continue;
      }
      const text = record[at];
      const value = numeric[k] ? toNumber(text) : text;
      values[k] = value;
      if (sure && !checks[k](value)) sure = false;
    }
    if (!sure) {
      // a number beyond the range of a double (1e400) reads as ±Infinity, which ajv would let through as a number
      for (let k = 0; k < known.length; k++) {
        const v = values[k];
        if (typeof v === 'number' && !Number.isFinite(v)) {
          const prop = schema.properties[known[k]];
          bad(
            { column: known[k], message: `value ${record[sourceIndex[k]].trim()} is out of range: it overflows a 64-bit float to ${v}`, expected: prop?.description ?? `a finite ${typesOf(prop).join(' or ')}` },
            { row, line },
          );
          return;
        }
      }
      const typed: Record<string, unknown> = {};
      for (let k = 0; k < known.length; k++) if (values[k] !== undefined) typed[known[k]] = values[k];
      const validate = validatorFor(schema);
      if (!validate(typed)) {
        bad(describeAjvError(validate.errors![0], typed, schema), { row, line });
        return;
      }
    }
    const problem = onRow(values, row, line, fieldsOfTexts());
    if (problem) {
      bad(problem, { row, line });
      return;
    }
    summary.rows_accepted++;
  };

  // The simple lines (no quote, no stray CR: every line of the raw files as generated) are read by LineScanner
  // straight from the bytes, numbers parsed in the same pass; a row the compiled checks are not sure of is turned into
  // strings and judged by onData like any other, so every message is the same. The first line that is not simple hands
  // the rest of the stream over to csv-parse below.
  const nKnown = known.length;
  const interners = known.map(() => new Interner());
  let complete = false; // every known column is in the header
  const keepIf = options.keepIf;
  let keepAt: Int32Array | undefined; // header indices of keepIf.columns, once all are found
  const keepStarts = new Int32Array(keepIf?.columns.length ?? 0);
  const keepEnds = new Int32Array(keepIf?.columns.length ?? 0);
  const fastLine = (scanned: ScannedLine): void => {
    const { buf, starts, ends, count, line, numbers } = scanned;
    if (utf8.invalidAt !== undefined && scanned.end > utf8.invalidAt) {
      throw notUtf8({ row: header === undefined ? 0 : summary.rows_read + 1, line });
    }
    if (header === undefined) {
      onHeader(textsOf(scanned));
      complete = sourceIndex.every((at) => at >= 0);
      const numericFields = new Uint8Array(header!.length);
      for (let k = 0; k < nKnown; k++) if (numeric[k] && sourceIndex[k] >= 0) numericFields[sourceIndex[k]] = 1;
      scanner.numeric = numericFields;
      const at = keepIf?.columns.map((c) => header!.indexOf(c));
      if (at && at.every((i) => i >= 0)) keepAt = Int32Array.from(at);
      return;
    }
    if (count !== header.length || !complete) {
      onData(textsOf(scanned), line);
      return;
    }
    if (keepAt !== undefined) {
      for (let j = 0; j < keepAt.length; j++) {
        keepStarts[j] = starts[keepAt[j]];
        keepEnds[j] = ends[keepAt[j]];
      }
      if (!keepIf!.test(buf, keepStarts, keepEnds)) {
        summary.rows_read++;
        return;
      }
    }
    const { kind, min, max, above, text, minLength } = plan;
    const codes = rowFields.codes;
    for (let k = 0; k < nKnown; k++) {
      const at = sourceIndex[k];
      const how = kind[k];
      if (anyBytes) {
        const j = byteIndex[k];
        if (j >= 0) {
          rowFields.starts[j] = starts[at];
          rowFields.ends[j] = ends[at];
        }
      }
      if (how === TEXT) {
        const interner = interners[k];
        values[k] = interner.text(buf, starts[at], ends[at]);
        codes[k] = interner.last;
      } else if (how === BYTES) {
        if (minLength[k] > 0 && !hasCodePoints(buf, starts[at], ends[at], minLength[k])) {
          onData(textsOf(scanned), line);
          return;
        }
        values[k] = undefined as unknown as string;
      } else if (how >= NUMBER) {
        const v = numbers[at];
        // NaN (not a plain decimal) and ±Infinity fail the first test; onData reads the text and says what is wrong
        if (!(v - v === 0 && v >= min[k] && v <= max[k] && v > above[k]) || (how === INTEGER && Math.floor(v) !== v)) {
          onData(textsOf(scanned), line);
          return;
        }
        values[k] = v;
      } else if (how === CHECKED_TEXT) {
        const interner = interners[k];
        const v = interner.text(buf, starts[at], ends[at]);
        const seen = interner.last;
        if (seen < 0 || interner.passed[seen] === 0) {
          if (!text[k]!(v)) {
            onData(textsOf(scanned), line);
            return;
          }
          if (seen >= 0) interner.passed[seen] = 1; // the check is a pure function of the text
        }
        values[k] = v;
        codes[k] = seen;
      } else {
        onData(textsOf(scanned), line);
        return;
      }
    }
    summary.rows_read++;
    const row = summary.rows_read;
    rowFields.buf = buf;
    const problem = onRow(values, row, line, rowFields);
    if (problem) {
      bad(problem, { row, line });
      return;
    }
    summary.rows_accepted++;
  };
  const scanner = new LineScanner(fastLine);
  // csv-parse counts bytes of what it is given: after a hand-over, that is a prefix of blank lines standing for the
  // lines already read (so that its line numbers stay those of the file), then the rest
  let byteShift = 0;
  const invalidBefore = (bytes: number): boolean => utf8.invalidAt !== undefined && bytes + byteShift > utf8.invalidAt;
  const handOver = (transform: Transform, handover: Handover): void => {
    const prefix = handover.line > 1 ? Buffer.from((handover.newline ?? '\n').repeat(handover.line - 1)) : Buffer.alloc(0);
    byteShift = handover.offset - prefix.length;
    previousEnd = 0;
    previousEmpty = 0;
    if (prefix.length) transform.push(prefix);
    transform.push(handover.rest);
  };
  const fast = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        if (scanner.handedOver) callback(null, chunk);
        else {
          const handover = scanner.push(chunk);
          if (handover) handOver(this, handover);
          callback();
        }
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        if (!scanner.handedOver) {
          const handover = scanner.push(Buffer.alloc(0), true);
          if (handover) handOver(this, handover);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });

  // Where records start. csv-parse gives the line a record ends on (`lines`, which counts line breaks inside quoted
  // fields too) and the blank lines skipped so far; a record starts on the line after the previous one ended, past
  // the blank lines skipped in between. Skipped (malformed) records are followed too, through the hook below.
  let previousEnd = 0;
  let previousEmpty = 0;
  const startOf = (info: { empty_lines: number }) => previousEnd + 1 + (info.empty_lines - previousEmpty);
  const ended = (info: { lines: number; empty_lines: number }) => {
    previousEnd = info.lines;
    previousEmpty = info.empty_lines;
  };
  const columnAt = (index: unknown): string | undefined => (typeof index === 'number' && header ? header[index] : undefined);
  const utf8 = new Utf8Check();
  const notUtf8 = (position?: RowPosition): SpillwayError => {
    const at = utf8.invalidAt!;
    return new SpillwayError('invalidInput', `not valid UTF-8: byte offset ${at}${path.endsWith('.gz') ? ' (of the decompressed data)' : ''}${position ? ` is in row ${position.row}` : ''}`, {
      file,
      ...(position && position.row > 0 ? { row: position.row, line: position.line } : position ? { line: position.line } : {}),
      expected: 'UTF-8 text (a leading byte-order mark is tolerated)',
      hint: 'the file is in another encoding (a Chinese export is often GB18030 or GBK): convert it, e.g. iconv -f GB18030 -t UTF-8 in.csv > out.csv',
      context: { byte_offset: at },
    });
  };
  /** A malformed record that ran over lines after its own may have swallowed rows: never droppable. */
  const swallowed = (error: CsvError & { column?: unknown }, start: number, end: number): SpillwayError => {
    const column = columnAt(error.column);
    const row = header ? summary.rows_read + 1 : 0;
    const what =
      error.code === 'CSV_QUOTE_NOT_CLOSED'
        ? `a quote opened${column ? ` in column "${column}"` : ''} on line ${start} is never closed: lines ${start}–${end} (the rest of the file) would be read as one field`
        : `malformed quoting (${error.message}) makes lines ${start}–${end} one record`;
    return new SpillwayError('invalidInput', `${what}; rows may have been swallowed, so it cannot be dropped as one bad row`, {
      file,
      line: start,
      ...(row > 0 ? { row } : {}),
      field: column,
      expected: 'RFC 4180 quoting: a field that starts with " ends with " (a quote inside it doubled as "")',
      hint: `fix the quote on line ${start} (close it, double it as "", or remove it)`,
    });
  };
  // drop mode: the malformed record being skipped (csv-parse reports its first error, then reads on to its end)
  let skipped: { start: number; error: CsvError } | undefined;
  const endSkipped = (info: { lines: number; empty_lines: number; bytes: number }, atEnd: boolean): SpillwayError | undefined => {
    const { start, error } = skipped!;
    skipped = undefined;
    // `bytes` is where this record ends (or, at the end of the file, everything has been read)
    if (utf8.invalidAt !== undefined && (atEnd || invalidBefore(info.bytes))) return notUtf8({ row: summary.rows_read + 1, line: start });
    if (info.lines > start) return swallowed(error, start, info.lines);
    ended(info);
    summary.rows_read++;
    bad({ column: columnAt((error as { column?: unknown }).column), message: `malformed CSV: ${error.message}`, expected: 'RFC 4180 quoting' }, { row: summary.rows_read, line: start });
    return undefined;
  };
  type Info = { lines: number; empty_lines: number; bytes: number };
  let hooked = false;
  // csv-parse, set up when the scanner hands the rest of the file over (a file of simple lines never loads it)
  const startParser = async (): Promise<Parser> => {
    const { parse } = await import('csv-parse');
    const parser = parse({
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: policy === 'drop',
      on_skip: (err: CsvError | undefined) => {
        if (!err || skipped) return undefined; // the first error of a record is the one reported
        const info = err as unknown as { lines: number; empty_lines: number; bytes: number };
        skipped = { start: startOf(info), error: err };
        // a quote still open at the end of the file: csv-parse stops without ending the record, so end it here
        if (err.code === 'CSV_QUOTE_NOT_CLOSED' || !hooked) {
          const problem = endSkipped(info, err.code === 'CSV_QUOTE_NOT_CLOSED');
          if (problem) throw problem;
        }
        return undefined;
      },
      // every record is handled here, synchronously, and not pushed down the stream: no per-row object, promise or
      // stream buffer; an error thrown here stops the parser with it
      on_record: (record: string[], context: { lines: number; empty_lines: number; bytes: number }) => {
        const start = startOf(context);
        if (invalidBefore(context.bytes)) {
          throw notUtf8({ row: header === undefined ? 0 : summary.rows_read + 1, line: start });
        }
        ended(context);
        if (header === undefined) onHeader(record);
        else onData(record, start);
        return null;
      },
    });
    // csv-parse ends a skipped record (drop mode) without a callback: a hook on its record handler tells where it ended,
    // so that a malformed record running over further lines is caught. Guarded: if a later csv-parse lacks these
    // internals, a skipped record is judged where its error was found.
    const api = (parser as unknown as { api?: { info?: Info; state?: { recordHasError?: boolean }; __onRecord?: (push: unknown) => unknown } }).api;
    if (policy === 'drop' && api && typeof api.__onRecord === 'function' && api.state && 'recordHasError' in api.state && api.info) {
      const onRecord = api.__onRecord;
      const state = api.state;
      const info = api.info;
      api.__onRecord = function (this: unknown, push: unknown) {
        if (state.recordHasError === true && skipped) {
          const problem = endSkipped(info, false);
          if (problem) return problem; // csv-parse stops with an error returned here
        }
        return onRecord.call(this, push);
      };
      hooked = true;
    }
    return parser;
  };
  // where the handed-over bytes go: csv-parse, whose records are all handled in its callbacks above. Its error is kept
  // apart: the pipeline may report the abort of the stream read here instead.
  let failure: { error: unknown } | undefined;
  const toParser = async (stream: AsyncIterable<Buffer>): Promise<void> => {
    let parser: Parser | undefined;
    let done: Promise<void> | undefined;
    for await (const chunk of stream) {
      if (!parser) {
        parser = await startParser();
        parser.on('error', (error) => (failure ??= { error }));
        parser.resume(); // nothing is pushed (on_record returns null); let it end
        done = finished(parser);
        done.catch(() => undefined); // awaited below; an error also stops the loop through `failure`
      }
      if (!parser.write(chunk) && !failure) await once(parser, 'drain');
      if (failure) throw failure.error;
    }
    if (parser) {
      parser.end();
      try {
        await done;
      } catch (error) {
        failure ??= { error };
        throw error;
      }
    }
  };
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    if (path.endsWith('.gz')) await pipeline(source, createGunzip({ chunkSize: 1 << 18 }), utf8, fast, toParser);
    else await pipeline(source, utf8, fast, toParser);
  } catch (caught) {
    const error = failure ? failure.error : caught;
    // a bad row or an encoding error found by a callback: the invalid byte, if any, is not before that row
    if (error instanceof SpillwayError) throw error;
    const e = error as Omit<NodeJS.ErrnoException, 'code'> & Omit<CsvError, 'code'> & { code?: string; lines?: number; empty_lines?: number; column?: unknown };
    if (e.code === 'ENOENT') {
      throw new SpillwayError('invalidInput', `file not found`, { file, hint: 'check the path in pipeline.yaml deps, or generate the data (spillway synth)' });
    }
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') {
      throw new SpillwayError('invalidInput', `not a valid gzip file: ${e.message}`, { file, expected: 'a gzip-compressed CSV (.csv.gz), or rename it to .csv' });
    }
    if (typeof e.code === 'string' && (e.code.startsWith('CSV_') || e.code === 'INVALID_OPENING_QUOTE')) {
      const start = typeof e.empty_lines === 'number' ? startOf(e as unknown as Info) : (e.lines ?? 0);
      if (typeof e.lines === 'number' && e.lines > start) throw swallowed(e as CsvError, start, e.lines);
      const column = columnAt(e.column);
      // the encoding check runs up to a chunk ahead of the parser: an invalid byte it found may be before or after
      // the point of this error, so it is named as well
      const alsoNotUtf8 = utf8.invalidAt === undefined ? '' : ` (and the file is not valid UTF-8 from byte offset ${utf8.invalidAt})`;
      throw new SpillwayError('invalidInput', `malformed CSV: ${e.message}${alsoNotUtf8}`, {
        file,
        line: start || e.lines,
        ...(header ? { row: summary.rows_read + 1 } : {}),
        field: column,
        expected: 'RFC 4180 CSV: comma-separated, fields with commas, quotes or newlines quoted with "',
        hint: policyHint,
      });
    }
    throw new SpillwayError('invalidInput', `could not read: ${e.message}`, { file }, { cause: error });
  }
  if (utf8.invalidAt !== undefined) throw notUtf8();
  if (header === undefined) {
    throw new SpillwayError('invalidInput', 'file is empty', { file, expected: `a header row with the columns ${known.join(',')}` });
  }
  return summary;
}

/**
 * Streams `path` and calls `onRecord` with each valid, typed row as an object keyed by column (a convenience over
 * readCsvRows for small files and tests). `onRecord` may return a RowProblem to reject the row. Resolves to a summary.
 */
export async function readCsv(
  path: string,
  options: ReadCsvOptions,
  onRecord: (record: Record<string, unknown>, position: RowPosition) => RowProblem | void,
): Promise<CsvReadSummary> {
  const known = Object.keys(options.schema.properties);
  return readCsvRows(path, options, (values, row, line) => {
    const record: Record<string, unknown> = {};
    for (let k = 0; k < known.length; k++) if (values[k] !== undefined) record[known[k]] = values[k];
    return onRecord(record, { row, line });
  });
}
