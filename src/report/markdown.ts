// Table → GitHub-flavoured Markdown (pipe table). Column groups are folded into the column headers
// ("Leading regions (4)") because Markdown has no spanning cells; SEs go on their own row below.
import { assertWellFormed, captionText, estimateParts, isEstimate, plainCellText, type Table, type TableRow } from './table.js';

/** Escapes the characters that would break a pipe-table cell or turn stars into emphasis. */
export function escapeMarkdown(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/_/g, '\\_').replace(/\n/g, ' ');
}

function headerLabels(table: Table): string[] {
  if (!table.columnGroups) return table.columns;
  const labels: string[] = [];
  let column = 0;
  for (const group of table.columnGroups) {
    for (let k = 0; k < group.span; k++, column++) {
      labels.push(group.label ? `${group.label} ${table.columns[column]}` : table.columns[column]);
    }
  }
  return labels;
}

function line(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function rowLines(table: Table, row: TableRow): string[] {
  const main = row.cells.map((cell, c) => {
    if (isEstimate(cell)) {
      const p = estimateParts(table, cell, c);
      return escapeMarkdown(p.coef + p.stars);
    }
    return escapeMarkdown(plainCellText(table, cell, c));
  });
  const lines = [line([escapeMarkdown(row.label), ...main])];
  if (row.cells.some((cell) => isEstimate(cell) && cell.se !== null && cell.se !== undefined)) {
    const se = row.cells.map((cell, c) => {
      if (!isEstimate(cell)) return '';
      const p = estimateParts(table, cell, c);
      return p.se === null ? '' : `(${p.se})`;
    });
    lines.push(line(['', ...se]));
  }
  return lines;
}

export function tableToMarkdown(table: Table): string {
  assertWellFormed(table);
  const out: string[] = [`**${escapeMarkdown(captionText(table))}**`, ''];
  out.push(line([escapeMarkdown(table.stubHeader ?? ''), ...headerLabels(table).map(escapeMarkdown)]));
  out.push(line([':---', ...table.columns.map(() => '---:')]));
  for (const section of table.sections) {
    if (section.title) out.push(line([`*${escapeMarkdown(section.title)}*`, ...table.columns.map(() => '')]));
    for (const row of section.rows) out.push(...rowLines(table, row));
  }
  if (table.notes && table.notes.length > 0) {
    out.push('');
    for (const note of table.notes) out.push(`${escapeMarkdown(note)}  `);
  }
  return out.join('\n') + '\n';
}
