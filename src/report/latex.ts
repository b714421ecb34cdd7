// Table → LaTeX with booktabs rules (\toprule, \midrule, \cmidrule, \bottomrule), stars as superscripts
// ($^{***}$ 1 %, $^{**}$ 5 %, $^{*}$ 10 %) and standard errors in parentheses on the line below each coefficient.
// The output is a complete `table` float; the document needs \usepackage{booktabs}.
import { assertWellFormed, estimateParts, isEstimate, plainCellText, type Table, type TableRow } from './table.js';

const latexSpecials: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};

/** Unicode symbols pdfLaTeX's utf8 input does not know, as math (so a note with "n − 1" or "|z| ≤ 2" compiles). */
const latexSymbols: Record<string, string> = {
  '−': '\\ensuremath{-}', '≤': '\\ensuremath{\\le}', '≥': '\\ensuremath{\\ge}', '→': '\\ensuremath{\\to}', '×': '\\ensuremath{\\times}',
  'Δ': '\\ensuremath{\\Delta}', 'κ': '\\ensuremath{\\kappa}', 'λ': '\\ensuremath{\\lambda}', 'α': '\\ensuremath{\\alpha}', '≈': '\\ensuremath{\\approx}',
  '±': '\\ensuremath{\\pm}', '·': '\\ensuremath{\\cdot}', '†': '\\ensuremath{\\dagger}', '…': '\\ldots{}',
};

export function escapeLatex(text: string): string {
  return text.replace(/[\\&%$#_{}~^]/g, (ch) => latexSpecials[ch]).replace(/[−≤≥→×Δκλα≈±·†…]/g, (ch) => latexSymbols[ch]);
}

/** Column types: a column (or the label column) holding long text becomes a ragged-right paragraph column, so wide text wraps. */
function columnSpec(table: Table): string {
  const long = (texts: string[], limit: number) => texts.some((t) => t.length > limit);
  const labels = table.sections.flatMap((s) => s.rows.map((r) => r.label));
  const stub = long(labels, 48) ? '>{\\raggedright\\arraybackslash}p{6.5cm}' : 'l';
  const cols = table.columns.map((_, c) => {
    const texts = table.sections.flatMap((s) => s.rows.map((r) => r.cells[c])).filter((x): x is string => typeof x === 'string');
    return long(texts, 28) ? '>{\\raggedright\\arraybackslash}p{4.2cm}' : 'c';
  });
  return stub + cols.join('');
}

/** A number as LaTeX text: a true minus sign instead of a hyphen. */
function latexNumber(text: string): string {
  return text.startsWith('-') ? `$-$${text.slice(1)}` : text;
}

function line(cells: string[]): string {
  return `${cells.join(' & ')} \\\\`;
}

function rowLines(table: Table, row: TableRow): string[] {
  const main = row.cells.map((cell, c) => {
    if (isEstimate(cell)) {
      const p = estimateParts(table, cell, c);
      return latexNumber(p.coef) + (p.stars ? `$^{${p.stars}}$` : '');
    }
    const text = plainCellText(table, cell, c);
    return /^-?\d/.test(text) ? latexNumber(escapeLatex(text)) : escapeLatex(text);
  });
  const lines = [line([escapeLatex(row.label), ...main])];
  if (row.cells.some((cell) => isEstimate(cell) && cell.se !== null && cell.se !== undefined)) {
    const se = row.cells.map((cell, c) => {
      if (!isEstimate(cell)) return '';
      const p = estimateParts(table, cell, c);
      return p.se === null ? '' : `(${latexNumber(p.se)})`;
    });
    lines.push(line(['', ...se]));
  }
  return lines;
}

export function tableToLatex(table: Table): string {
  assertWellFormed(table);
  const n = table.columns.length;
  const out: string[] = [
    '\\begin{table}[htbp]',
    '\\centering',
    // the float numbers its caption itself ("Table 4: …"): the number goes into \thetable (local to the float), never into the text
    ...(table.number ? [`\\renewcommand{\\thetable}{${escapeLatex(table.number)}}`] : []),
    `\\caption{${escapeLatex(table.title)}}`,
    `\\label{tab:${table.id}}`,
    `\\begin{tabular}{${columnSpec(table)}}`,
    '\\toprule',
  ];
  if (table.columnGroups) {
    const spans: string[] = [];
    const rules: string[] = [];
    let first = 2;
    for (const group of table.columnGroups) {
      spans.push(group.span === 1 ? escapeLatex(group.label) : `\\multicolumn{${group.span}}{c}{${escapeLatex(group.label)}}`);
      if (group.label) rules.push(`\\cmidrule(lr){${first}-${first + group.span - 1}}`);
      first += group.span;
    }
    out.push(line(['', ...spans]));
    if (rules.length > 0) out.push(rules.join(' '));
  }
  out.push(line([escapeLatex(table.stubHeader ?? ''), ...table.columns.map(escapeLatex)]));
  out.push('\\midrule');
  table.sections.forEach((section, s) => {
    if (section.title) {
      if (s > 0) out.push('\\addlinespace');
      out.push(`\\multicolumn{${n + 1}}{l}{\\textit{${escapeLatex(section.title)}}} \\\\`);
    }
    for (const row of section.rows) out.push(...rowLines(table, row));
  });
  out.push('\\bottomrule', '\\end{tabular}');
  if (table.notes && table.notes.length > 0) {
    out.push('\\par\\smallskip', `{\\footnotesize ${table.notes.map(escapeLatex).join(' ')}\\par}`);
  }
  out.push('\\end{table}');
  return out.join('\n') + '\n';
}
