// Table → CSV for machines: one header row (section, label, statistic, then the columns), numbers at full
// precision (not rounded for display). An estimate row becomes three lines: statistic coef, se and stars.
import { stringify } from 'csv-stringify/sync';
import { assertWellFormed, isEstimate, isNumberCell, type Cell, type Table } from './table.js';

function plainValue(cell: Cell): string | number {
  if (cell === null) return '';
  if (typeof cell === 'string' || typeof cell === 'number') return cell;
  if (isNumberCell(cell)) return cell.value;
  return cell.coef;
}

export function tableToCsv(table: Table): string {
  assertWellFormed(table);
  const records: (string | number)[][] = [['section', 'label', 'statistic', ...table.columns]];
  for (const section of table.sections) {
    for (const row of section.rows) {
      const section_ = section.title ?? '';
      if (row.cells.some(isEstimate)) {
        // non-estimate cells of an estimate row appear once, on the coef line
        records.push([section_, row.label, 'coef', ...row.cells.map((c) => (isEstimate(c) ? c.coef : plainValue(c)))]);
        records.push([section_, row.label, 'se', ...row.cells.map((c) => (isEstimate(c) ? (c.se ?? '') : ''))]);
        records.push([section_, row.label, 'stars', ...row.cells.map((c) => (isEstimate(c) ? (c.stars ?? 0) : ''))]);
      } else {
        records.push([section_, row.label, '', ...row.cells.map(plainValue)]);
      }
    }
  }
  return stringify(records, { cast: { number: (v) => (Number.isFinite(v) ? String(v) : '') } });
}
