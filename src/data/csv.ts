// Streaming reader for the raw CSV files (docs/data-format.md): plain .csv or gzipped .csv.gz, header row, RFC 4180.
// Every data row is typed by the file's JSON Schema (schemas/raw/*.schema.json) and validated; a row that breaks the
// format either stops the read with file, row, line, column, expected and hint, or — when the caller's policy says
// 'drop' — is dropped and counted in the summary. Nothing is skipped silently.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { parse, type CsvError } from 'csv-parse';
import ajvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { SpillwayError } from '../errors.js';

// ajv is CommonJS: under NodeNext its default import is module.exports, whose `default` is the class
const Ajv = ajvModule.default;

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
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function typesOf(prop: { type?: string | string[] } | undefined): string[] {
  if (!prop?.type) return [];
  return Array.isArray(prop.type) ? prop.type : [prop.type];
}

const validatorCache = new WeakMap<RowSchema, ValidateFunction>();
function validatorFor(schema: RowSchema): ValidateFunction {
  let validate = validatorCache.get(schema);
  if (!validate) {
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

/**
 * Streams `path` and calls `onRecord` with each valid, typed row (numbers converted where the schema says number or
 * integer). `onRecord` may return a RowProblem to reject the row (handled by the same policy). Resolves to a summary.
 */
export async function readCsv(
  path: string,
  options: ReadCsvOptions,
  onRecord: (record: Record<string, unknown>, position: RowPosition) => RowProblem | void,
): Promise<CsvReadSummary> {
  const file = options.displayPath ?? path;
  const policy = options.onBadRow ?? 'fail';
  const maxReported = options.maxReported ?? 20;
  const schema = options.schema;
  const validate = validatorFor(schema);
  const known = Object.keys(schema.properties);
  const required = schema.required ?? known;
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

  const source = createReadStream(path);
  const parser = parse({
    bom: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: policy === 'drop',
    on_skip: (err: CsvError | undefined) => {
      summary.rows_read++;
      bad({ message: `malformed CSV: ${err?.message ?? 'unparseable record'}`, expected: 'RFC 4180 quoting' }, {
        row: summary.rows_read,
        line: Number((err as { lines?: number } | undefined)?.lines ?? 0),
      });
      return undefined;
    },
  });
  const fail = (error: Error) => parser.destroy(error);
  source.on('error', fail);
  if (path.endsWith('.gz')) {
    const gunzip = createGunzip();
    gunzip.on('error', fail);
    source.pipe(gunzip).pipe(parser);
  } else {
    source.pipe(parser);
  }

  let header: string[] | undefined;
  let columnIndex: [string, number][] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header === undefined) {
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
        const duplicate = header.find((h, i) => header!.indexOf(h) !== i);
        if (duplicate !== undefined) {
          throw new SpillwayError('invalidInput', `header names column "${duplicate}" twice`, { file, line: 1, field: duplicate });
        }
        summary.ignored_columns = header.filter((h) => !known.includes(h));
        columnIndex = known.filter((c) => header!.includes(c)).map((c) => [c, header!.indexOf(c)]);
        continue;
      }
      summary.rows_read++;
      const position = { row: summary.rows_read, line: info.lines };
      if (record.length !== header.length) {
        bad(
          { message: `row has ${record.length} fields, the header has ${header.length}`, expected: `${header.length} comma-separated fields (quote fields that contain commas)` },
          position,
        );
        continue;
      }
      const typed: Record<string, unknown> = {};
      for (const [column, index] of columnIndex) {
        const text = record[index];
        const types = typesOf(schema.properties[column]);
        const numeric = types.includes('number') || types.includes('integer');
        typed[column] = numeric && NUMBER.test(text.trim()) ? Number(text.trim()) : text;
      }
      if (!validate(typed)) {
        bad(describeAjvError(validate.errors![0], typed, schema), position);
        continue;
      }
      const problem = onRecord(typed, position);
      if (problem) {
        bad(problem, position);
        continue;
      }
      summary.rows_accepted++;
    }
  } catch (error) {
    if (error instanceof SpillwayError) throw error;
    const e = error as NodeJS.ErrnoException & { lines?: number };
    if (e.code === 'ENOENT') {
      throw new SpillwayError('invalidInput', `file not found`, { file, hint: 'check the path in pipeline.yaml deps, or generate the data (spillway synth)' });
    }
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') {
      throw new SpillwayError('invalidInput', `not a valid gzip file: ${e.message}`, { file, expected: 'a gzip-compressed CSV (.csv.gz), or rename it to .csv' });
    }
    if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
      throw new SpillwayError('invalidInput', `malformed CSV: ${e.message}`, {
        file,
        line: e.lines,
        expected: 'RFC 4180 CSV: comma-separated, fields with commas, quotes or newlines quoted with "',
        hint: policyHint,
      });
    }
    throw new SpillwayError('invalidInput', `could not read: ${e.message}`, { file }, { cause: error });
  }
  if (header === undefined) {
    throw new SpillwayError('invalidInput', 'file is empty', { file, expected: `a header row with the columns ${known.join(',')}` });
  }
  return summary;
}
