// The report's table model: a titled grid of labelled rows, rendered to Markdown, LaTeX and CSV
// (markdown.ts, latex.ts, csv.ts) and to HTML (html.ts). It knows nothing of what the numbers mean.
import { SpillwayError } from '../errors.js';

/** Significance stars: 3 = 1 %, 2 = 5 %, 1 = 10 %, 0 = none (the paper's and Stata esttab's convention). */
export type Stars = 0 | 1 | 2 | 3;

/** A regression coefficient with its standard error printed in parentheses below it. */
export interface EstimateCell {
  kind: 'estimate';
  coef: number;
  se?: number | null;
  stars?: Stars;
}

/** A number printed with a fixed number of decimals (overrides the column's and table's digits). */
export interface NumberCell {
  kind: 'number';
  value: number;
  digits: number;
  /** appended after the number, e.g. "%" */
  suffix?: string;
}

/** null = empty cell; numbers use the column's digits (or the table's, or an automatic choice). */
export type Cell = null | string | number | NumberCell | EstimateCell;

export interface TableRow {
  label: string;
  cells: Cell[];
}

export interface TableSection {
  /** printed as a full-width sub-heading row; omitted for an untitled section */
  title?: string;
  rows: TableRow[];
}

/** A header spanning `span` consecutive columns (e.g. "Leading regions" over models 4-6). */
export interface ColumnGroup {
  label: string;
  span: number;
}

export interface Table {
  /** a file-name-safe identifier, e.g. "table4" */
  id: string;
  /** the caption without its number: renderers prefix "Table <number>: " (LaTeX through \thetable, so never twice) */
  title: string;
  /** the table's number as printed, e.g. "4" or "A1"; omitted = unnumbered in Markdown/HTML, LaTeX's own counter */
  number?: string;
  /** header of the label column */
  stubHeader?: string;
  columns: string[];
  /** optional spanning headers above `columns`; spans must add up to columns.length */
  columnGroups?: ColumnGroup[];
  sections: TableSection[];
  notes?: string[];
  /** decimals for plain numbers when the column does not say; default: integers as integers, others 3 */
  digits?: number;
  /** decimals per column (undefined entries fall back to `digits`) */
  columnDigits?: (number | undefined)[];
}

/** Stars for a two-sided p-value: p < 0.01 → 3, p < 0.05 → 2, p < 0.10 → 1. Strict inequalities, as
 * Stata's esttab `star(* 0.10 ** 0.05 *** 0.01)`: a p-value exactly at a threshold gets the weaker mark. */
export function starsForPValue(p: number | null | undefined): Stars {
  if (p === null || p === undefined || !Number.isFinite(p)) return 0;
  if (p < 0.01) return 3;
  if (p < 0.05) return 2;
  if (p < 0.1) return 1;
  return 0;
}

export function starString(stars: Stars | undefined): string {
  return '*'.repeat(stars ?? 0);
}

export function estimate(coef: number, se?: number | null, stars?: Stars): EstimateCell {
  return { kind: 'estimate', coef, se: se ?? null, stars: stars ?? 0 };
}

export function isEstimate(cell: Cell): cell is EstimateCell {
  return typeof cell === 'object' && cell !== null && cell.kind === 'estimate';
}

export function isNumberCell(cell: Cell): cell is NumberCell {
  return typeof cell === 'object' && cell !== null && cell.kind === 'number';
}

/** Fixed-decimal text for a number; non-finite values print as "n/a"; -0.000 prints as 0.000. */
export function formatNumber(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const d = digits ?? (Number.isInteger(value) ? 0 : 3);
  const text = value.toFixed(d);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** The display text of a non-estimate cell in column `column`. */
export function plainCellText(table: Table, cell: Exclude<Cell, EstimateCell>, column: number): string {
  if (cell === null) return '';
  if (typeof cell === 'string') return cell;
  if (typeof cell === 'number') return formatNumber(cell, table.columnDigits?.[column] ?? table.digits);
  return formatNumber(cell.value, cell.digits) + (cell.suffix ?? '');
}

/** Estimate text pieces: coefficient (with the column's digits, default 3), stars, SE. */
export function estimateParts(table: Table, cell: EstimateCell, column: number): { coef: string; stars: string; se: string | null } {
  const digits = table.columnDigits?.[column] ?? table.digits ?? 3;
  return {
    coef: formatNumber(cell.coef, digits),
    stars: starString(cell.stars),
    se: cell.se === null || cell.se === undefined ? null : formatNumber(cell.se, digits),
  };
}

/** True when some cell of the row is an estimate with a standard error (so the row gets an SE line below). */
export function rowHasSe(row: TableRow): boolean {
  return row.cells.some((c) => isEstimate(c) && c.se !== null && c.se !== undefined);
}

/** Checks the table's shape; returns a list of problems (empty when well-formed). */
export function tableProblems(table: Table): string[] {
  const problems: string[] = [];
  const n = table.columns.length;
  if (table.columnGroups) {
    const total = table.columnGroups.reduce((s, g) => s + g.span, 0);
    if (total !== n) problems.push(`column groups span ${total} columns, the table has ${n}`);
  }
  table.sections.forEach((section, s) =>
    section.rows.forEach((row, r) => {
      if (row.cells.length !== n) problems.push(`section ${s} row ${r} ("${row.label}") has ${row.cells.length} cells, expected ${n}`);
    }),
  );
  return problems;
}

/** Throws a SpillwayError naming the table and its first problems when the table is malformed. */
export function assertWellFormed(table: Table): void {
  const problems = tableProblems(table);
  if (problems.length > 0) {
    throw new SpillwayError('stageFailed', `table "${table.id}" is malformed: ${problems.slice(0, 3).join('; ')}`, {
      expected: 'every row with one cell per column; column-group spans adding up to the number of columns',
      context: { table: table.id, problems },
    });
  }
}

/** The table restricted to the given columns (by index, in that order); column groups are recomputed by label. */
export function selectColumns(table: Table, indices: number[], id = table.id): Table {
  const groupOf: string[] = [];
  for (const g of table.columnGroups ?? []) for (let k = 0; k < g.span; k++) groupOf.push(g.label);
  let columnGroups: ColumnGroup[] | undefined;
  if (table.columnGroups) {
    columnGroups = [];
    for (const i of indices) {
      const last = columnGroups[columnGroups.length - 1];
      if (last && last.label === groupOf[i]) last.span++;
      else columnGroups.push({ label: groupOf[i], span: 1 });
    }
  }
  return {
    ...table,
    id,
    columns: indices.map((i) => table.columns[i]),
    columnGroups,
    columnDigits: table.columnDigits ? indices.map((i) => table.columnDigits![i]) : undefined,
    sections: table.sections.map((s) => ({ ...s, rows: s.rows.map((r) => ({ ...r, cells: indices.map((i) => r.cells[i]) })) })),
  };
}

/** The caption as Markdown and HTML print it: "Table <number>: <title>", or the title alone. */
export function captionText(table: Table): string {
  return table.number ? `Table ${table.number}: ${table.title}` : table.title;
}
