import { describe, expect, it } from 'vitest';
import {
  estimate,
  starsForPValue,
  tableToCsv,
  tableToLatex,
  tableToMarkdown,
  formatNumber,
  selectColumns,
  type Table,
} from '../../src/report/index.js';

// A tiny regression table: two models, a coefficient row with SEs, a row missing in model 1, a count row.
const tiny: Table = {
  id: 'tiny',
  title: 'Tiny table: 5% & more',
  stubHeader: 'Variable',
  columns: ['(1)', '(2)'],
  columnGroups: [{ label: 'All', span: 1 }, { label: 'Sub_a', span: 1 }],
  sections: [
    {
      rows: [
        { label: 'x_1', cells: [estimate(0.1234, 0.05, starsForPValue(0.0099)), estimate(-0.5, 0.25, starsForPValue(0.01))] },
        { label: 'z', cells: [null, estimate(2, 1.5, starsForPValue(0.1))] },
      ],
    },
    { title: 'Counts', rows: [{ label: 'Observations', cells: [330, 88] }] },
  ],
  notes: ['Stars: *** 1%, ** 5%, * 10%.'],
};

describe('starsForPValue: strict thresholds at 0.01 / 0.05 / 0.10', () => {
  it('gives the weaker mark exactly at each threshold', () => {
    expect(starsForPValue(0.0099)).toBe(3);
    expect(starsForPValue(0.01)).toBe(2);
    expect(starsForPValue(0.0499)).toBe(2);
    expect(starsForPValue(0.05)).toBe(1);
    expect(starsForPValue(0.0999)).toBe(1);
    expect(starsForPValue(0.1)).toBe(0);
    expect(starsForPValue(0.5)).toBe(0);
    expect(starsForPValue(NaN)).toBe(0);
    expect(starsForPValue(null)).toBe(0);
  });
});

describe('formatNumber', () => {
  it('rounds to fixed decimals, prints integers bare, never -0', () => {
    expect(formatNumber(0.0615, 3)).toBe('0.061'); // binary 0.0615 is just below, as toFixed
    expect(formatNumber(330)).toBe('330');
    expect(formatNumber(1.5)).toBe('1.500');
    expect(formatNumber(-0.0001, 3)).toBe('0.000');
    expect(formatNumber(Infinity)).toBe('n/a');
  });
});

describe('table renderers on a tiny table', () => {
  it('Markdown: group-prefixed headers, escaped stars and underscores, SE row below', () => {
    expect(tableToMarkdown(tiny)).toBe(
      [
        '**Tiny table: 5% & more**',
        '',
        '| Variable | All (1) | Sub\\_a (2) |',
        '| :--- | ---: | ---: |',
        '| x\\_1 | 0.123\\*\\*\\* | -0.500\\*\\* |',
        '|  | (0.050) | (0.250) |',
        '| z |  | 2.000 |',
        '|  |  | (1.500) |',
        '| *Counts* |  |  |',
        '| Observations | 330 | 88 |',
        '',
        'Stars: \\*\\*\\* 1%, \\*\\* 5%, \\* 10%.  ',
        '',
      ].join('\n'),
    );
  });

  it('LaTeX: booktabs rules, cmidrules under groups, superscript stars, escaped specials, true minus', () => {
    expect(tableToLatex(tiny)).toBe(
      [
        '\\begin{table}[htbp]',
        '\\centering',
        '\\caption{Tiny table: 5\\% \\& more}',
        '\\label{tab:tiny}',
        '\\begin{tabular}{lcc}',
        '\\toprule',
        ' & All & Sub\\_a \\\\',
        '\\cmidrule(lr){2-2} \\cmidrule(lr){3-3}',
        'Variable & (1) & (2) \\\\',
        '\\midrule',
        'x\\_1 & 0.123$^{***}$ & $-$0.500$^{**}$ \\\\',
        ' & (0.050) & (0.250) \\\\',
        'z &  & 2.000 \\\\',
        ' &  & (1.500) \\\\',
        '\\addlinespace',
        '\\multicolumn{3}{l}{\\textit{Counts}} \\\\',
        'Observations & 330 & 88 \\\\',
        '\\bottomrule',
        '\\end{tabular}',
        '\\par\\smallskip',
        '{\\footnotesize Stars: *** 1\\%, ** 5\\%, * 10\\%.\\par}',
        '\\end{table}',
        '',
      ].join('\n'),
    );
  });

  it('CSV: full-precision numbers, coef/se/stars lines per estimate row, RFC 4180 quoting', () => {
    expect(tableToCsv(tiny)).toBe(
      [
        'section,label,statistic,(1),(2)',
        ',x_1,coef,0.1234,-0.5',
        ',x_1,se,0.05,0.25',
        ',x_1,stars,3,2',
        ',z,coef,,2',
        ',z,se,,1.5',
        ',z,stars,,0',
        'Counts,Observations,,330,88',
        '',
      ].join('\n'),
    );
    const quoted: Table = { id: 'q', title: 'q', columns: ['a, b'], sections: [{ rows: [{ label: 'say "hi"', cells: [1] }] }] };
    expect(tableToCsv(quoted)).toBe('section,label,statistic,"a, b"\n,"say ""hi""",,1\n');
  });

  it('rejects a malformed table with its id and the offending row', () => {
    const bad: Table = { id: 'bad', title: 'b', columns: ['a', 'b'], sections: [{ rows: [{ label: 'r', cells: [1] }] }] };
    expect(() => tableToMarkdown(bad)).toThrowError(/table "bad" is malformed: .*\("r"\) has 1 cells, expected 2/);
  });
});

describe('selectColumns', () => {
  it('keeps the chosen columns in order and recomputes group spans', () => {
    const wide: Table = {
      id: 'w',
      title: 'w',
      columns: ['a', 'b', 'c'],
      columnGroups: [{ label: 'G', span: 2 }, { label: 'H', span: 1 }],
      sections: [{ rows: [{ label: 'r', cells: [1, 2, 3] }] }],
    };
    const picked = selectColumns(wide, [2, 0], 'p');
    expect(picked.id).toBe('p');
    expect(picked.columns).toEqual(['c', 'a']);
    expect(picked.columnGroups).toEqual([{ label: 'H', span: 1 }, { label: 'G', span: 1 }]);
    expect(picked.sections[0].rows[0].cells).toEqual([3, 1]);
  });
});

describe('numbered captions', () => {
  const numbered: Table = { id: 'table4', number: '4', title: 'Models', columns: ['(1)'], sections: [{ rows: [{ label: 'x', cells: [1] }] }] };

  it('LaTeX numbers the float itself: the number goes to \\thetable, never into the caption text (no "Table 4: Table 4:")', () => {
    const tex = tableToLatex(numbered);
    expect(tex).toContain('\\renewcommand{\\thetable}{4}\n\\caption{Models}');
    expect(tex).not.toMatch(/\\caption\{Table/);
  });

  it('Markdown prints "Table 4: title" once; an unnumbered table just its title', () => {
    expect(tableToMarkdown(numbered).split('\n')[0]).toBe('**Table 4: Models**');
    expect(tableToMarkdown({ ...numbered, number: undefined }).split('\n')[0]).toBe('**Models**');
  });
});

describe('LaTeX that pdfLaTeX compiles', () => {
  it('Unicode symbols of the notes become math, and long text columns wrap instead of running off the page', () => {
    const table: Table = {
      id: 'cal',
      title: 'Calibration',
      columns: ['Computed', 'Target'],
      sections: [{ rows: [{ label: 'Leading regions', cells: ['Beijing, Shanghai, Jiangsu, Hubei, Guangdong', '±10 pp'] }] }],
      notes: ['growth = (P_end / P_start)^(1/5) − 1; |z| ≤ 2; α → 0 †'],
    };
    const tex = tableToLatex(table);
    expect(tex).toContain('\\begin{tabular}{l>{\\raggedright\\arraybackslash}p{4.2cm}c}');
    expect(tex).toContain('\\ensuremath{-} 1; |z| \\ensuremath{\\le} 2; \\ensuremath{\\alpha} \\ensuremath{\\to} 0 \\ensuremath{\\dagger}');
    expect(tex).toContain('\\ensuremath{\\pm}10 pp');
    expect(tex).not.toMatch(/[−≤→†±α]/);
  });
});
