// Errors are values with context until the CLI boundary turns them into one message and an exit code.

/** Exit codes shared by every command; documented in README.md ("Exit codes"). */
export const ExitCode = {
  ok: 0,
  /** a stage failed (threw, crashed, or wrote an output that broke its schema) */
  stageFailed: 1,
  /** the command line was wrong */
  usage: 2,
  /** pipeline.yaml (or a params file) is invalid: syntax, schema, unknown reference, cycle */
  invalidPipeline: 3,
  /** an input file (data, CSV) is malformed */
  invalidInput: 4,
  /** another spillway process holds the project lock */
  locked: 5,
  /** audit found mismatches, or status found stale stages with --exit-code */
  auditFailed: 6,
  /** an estimator did not converge or the likelihood is flat */
  notConverged: 7,
  /** a bug in spillway itself */
  internal: 70,
  /** stopped by Ctrl-C / SIGTERM (128 + SIGINT, the shell convention); finished stages are kept */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind = Exclude<keyof typeof ExitCode, 'ok'>;

/** Where an error is: a file with optional line/column (1-based), a row/column of a table, or a JSON pointer. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  row?: number;
  field?: string;
  pointer?: string;
}

export interface ErrorDetails extends ErrorLocation {
  /** what was expected, in words */
  expected?: string;
  /** what the user can do about it */
  hint?: string;
  /** further machine-readable context (stage name, artifact name, schema keyword, …) */
  context?: Record<string, unknown>;
}

export class SpillwayError extends Error {
  readonly kind: ErrorKind;
  readonly details: ErrorDetails;

  constructor(kind: ErrorKind, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpillwayError';
    this.kind = kind;
    this.details = details;
  }

  get exitCode(): ExitCodeValue {
    return ExitCode[this.kind];
  }

  /** One readable message: `file:line:column: message (expected …) hint`. */
  format(): string {
    const d = this.details;
    let where = '';
    if (d.file) {
      where = d.file;
      if (d.line !== undefined) where += `:${d.line}${d.column !== undefined ? `:${d.column}` : ''}`;
      if (d.row !== undefined) where += ` row ${d.row}`;
      if (d.field !== undefined) where += ` column "${d.field}"`;
    } else if (d.row !== undefined) {
      where = `row ${d.row}${d.field !== undefined ? ` column "${d.field}"` : ''}`;
    }
    if (d.pointer !== undefined) where += `${where ? ' ' : ''}at ${d.pointer === '' ? '/' : d.pointer}`;
    let text = where ? `${where}: ${this.message}` : this.message;
    if (d.expected) text += `\n  expected: ${d.expected}`;
    if (d.hint) text += `\n  hint: ${d.hint}`;
    return text;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.kind, message: this.message, exit_code: this.exitCode, ...this.details };
  }
}

export function isSpillwayError(e: unknown): e is SpillwayError {
  return e instanceof SpillwayError;
}
