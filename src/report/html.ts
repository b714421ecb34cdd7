// One self-contained HTML page (inline CSS and SVG, no scripts, no external resources) that shows every table and
// figure. A computed table carries the published value of each cell under its own (matched by section, row, column);
// wide tables and figures scroll inside their own box with the first column kept in view, so the page never does.
import { assertWellFormed, captionText, estimateParts, isEstimate, plainCellText, type Table } from './table.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);
}

export interface HtmlFact {
  label: string;
  value: string;
}

export interface HtmlTableSection {
  kind: 'table';
  id: string;
  heading: string;
  /** prose above the table */
  intro?: string;
  computed: Table;
  /**
   * The published counterpart. With `compare: 'merge'` (default) its values are shown inside the computed table,
   * under the computed value of the same cell (matched by section, row label and column label); with 'separate' it is
   * a table of its own below. null when the source publishes none.
   */
  published?: Table | null;
  compare?: 'merge' | 'separate';
  /** what the published values are, or why there are none */
  publishedNote?: string;
  /** file links shown under the table, e.g. tables/table1.md */
  downloads?: string[];
}

export interface HtmlFigureSection {
  kind: 'figure';
  id: string;
  heading: string;
  intro?: string;
  svg: string;
  caption?: string;
  /** a text alternative for the figure (the SVG gets role="img" and this as its aria-label) */
  alt?: string;
  /** the published counterpart in words or a small table (the paper's figure is an image we do not have) */
  published?: Table | string | null;
  downloads?: string[];
}

/** Prose only, e.g. why a section has nothing to show yet and what to run; `tone` draws it as a notice. */
export interface HtmlTextSection {
  kind: 'text';
  id: string;
  heading: string;
  paragraphs: string[];
  tone?: 'warning' | 'info';
}

export type HtmlSection = HtmlTableSection | HtmlFigureSection | HtmlTextSection;

export interface HtmlReport {
  title: string;
  /** a prominent line under the title, e.g. which dataset the numbers come from */
  banner?: { tone: 'warning' | 'info'; text: string };
  facts?: HtmlFact[];
  /** paragraphs under the banner: what the page is, where its files are, how to re-run it */
  about?: string[];
  /** key → value pairs shown as the provenance block (e.g. the params the run used) */
  provenance?: Record<string, unknown>;
  sections: HtmlSection[];
  footer?: string;
}

const css = `
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1500px;padding:0 1rem;color:#222;line-height:1.4}
h1{margin-bottom:.3rem;font-size:1.7rem}
h2{font-size:1.3rem;margin-top:2.2rem}
p,dd,li,summary,figcaption{overflow-wrap:anywhere}
code{overflow-wrap:anywhere;white-space:normal}
.banner{padding:.6rem 1rem;border-radius:4px;font-weight:600;margin:.5rem 0 1rem}
.banner.warning{background:#fff3cd;border:1px solid #e0b000}
.banner.info{background:#e7f1ff;border:1px solid #6b9bd1}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem;margin:0 0 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;min-width:0}
details.provenance{margin-bottom:1.5rem}
nav ul{columns:2}
.about{background:#f4f7fb;border:1px solid #c9d6e6;border-radius:4px;padding:.5rem 1rem;margin:1rem 0}
.scroll{overflow-x:auto;max-width:100%;margin:.3rem 0}
.key{font-size:.85rem;color:#444;margin:.2rem 0}
.key .c,.key .p{display:inline}
table.report{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
table.report caption{text-align:left;font-weight:600;padding-bottom:.3rem}
.item>.scroll>table.report>caption{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
table.report th,table.report td{padding:.15rem .5rem;text-align:right;white-space:nowrap;vertical-align:top}
table.report th:first-child,table.report td:first-child{text-align:left;white-space:normal;min-width:10em;max-width:22em;position:sticky;left:0;background:#fff;z-index:1}
table.report td.t{white-space:normal;min-width:6em;max-width:18em;text-align:left}
table.report thead tr:last-child th{border-bottom:1px solid #444}
table.report thead tr:first-child th{border-top:2px solid #444}
table.report tbody:last-of-type tr:last-child td{border-bottom:2px solid #444}
table.report tr.se td{color:#555;font-size:.8rem}
table.report tr.section td{font-style:italic;text-align:left;padding-top:.5rem}
table.compare tbody tr:not(.se) td{padding-top:.35rem}
.c{display:block}
.p{display:block;color:#8a4b08;font-style:italic}
.p::before{content:"paper ";font-size:.7rem;font-style:normal;color:#a0703a}
.key .p::before{content:""}
th.group{border-bottom:1px solid #999}
.notes{font-size:.8rem;color:#444}
.published{border-left:6px solid #999;background:#f7f7f7;padding:.3rem .75rem;margin:.5rem 0}
.published h4{margin:.2rem 0;font-size:.85rem;text-transform:uppercase;letter-spacing:.04em;color:#555}
.figure-box figure{margin:0}
.figure-box svg{display:block;max-width:none;height:auto}
.downloads{font-size:.8rem}
@media (max-width:700px){body{margin:1rem auto;padding:0 .6rem}nav ul{columns:1}h1{font-size:1.35rem}
dl.facts{grid-template-columns:minmax(0,1fr)}dl.facts dd{margin-bottom:.4rem}
table.report th:first-child,table.report td:first-child{min-width:8em;max-width:11em}}
`;

/** the text of a cell and whether it is an estimate (coefficient, stars, SE) */
interface CellText {
  main: string;
  stars: string;
  se: string | null;
  text: boolean;
}

function cellText(table: Table, cell: Table['sections'][number]['rows'][number]['cells'][number], c: number): CellText {
  if (isEstimate(cell)) {
    const p = estimateParts(table, cell, c);
    return { main: p.coef, stars: p.stars, se: p.se, text: false };
  }
  return { main: plainCellText(table, cell, c), stars: '', se: null, text: typeof cell === 'string' && cell.length > 12 };
}

function mainHtml(t: CellText): string {
  return `${escapeHtml(t.main)}${t.stars ? `<sup>${t.stars}</sup>` : ''}`;
}

/** matching key of a column: its label without a footnote mark */
const columnKey = (label: string) => label.replace(/\s*[†‡*]+$/, '').trim();

interface MergedRow {
  label: string;
  computed: CellText[] | null;
  published: CellText[] | null;
}

/** The computed rows of each section with the published values of the same section/row/column (published-only rows appended). */
function mergeRows(computed: Table, published: Table | null | undefined): { title?: string; rows: MergedRow[] }[] {
  const columnIndex = published ? new Map(published.columns.map((label, k) => [columnKey(label), k])) : new Map<string, number>();
  const publishedCells = (row: Table['sections'][number]['rows'][number]): CellText[] =>
    computed.columns.map((label, c) => {
      const k = columnIndex.get(columnKey(label));
      return k === undefined ? { main: '', stars: '', se: null, text: false } : cellText(published!, row.cells[k], k);
    });
  return computed.sections.map((section, s) => {
    const pubSection = published?.sections.find((ps, k) => (section.title ? ps.title === section.title : k === s));
    const used = new Set<number>();
    const rows: MergedRow[] = section.rows.map((row) => {
      const k = pubSection ? pubSection.rows.findIndex((r, i) => !used.has(i) && r.label === row.label) : -1;
      if (k >= 0) used.add(k);
      return { label: row.label, computed: row.cells.map((cell, c) => cellText(computed, cell, c)), published: k >= 0 ? publishedCells(pubSection!.rows[k]) : null };
    });
    pubSection?.rows.forEach((row, i) => {
      if (!used.has(i)) rows.push({ label: row.label, computed: null, published: publishedCells(row) });
    });
    return { title: section.title, rows };
  });
}

/**
 * A table as HTML. With a published counterpart, each cell shows this run's value and, below it, the paper's value of
 * the same cell (class "p"), so they are compared at a glance without a second table.
 */
export function tableToHtml(table: Table, published?: Table | null): string {
  assertWellFormed(table);
  if (published) assertWellFormed(published);
  const compare = published !== null && published !== undefined;
  const out: string[] = [`<table class="report${compare ? ' compare' : ''}" id="${escapeHtml(table.id)}-table">`, `<caption>${escapeHtml(captionText(table))}</caption>`, '<thead>'];
  if (table.columnGroups) {
    out.push(
      '<tr><th></th>' +
        table.columnGroups.map((g) => `<th class="group" colspan="${g.span}" style="text-align:center">${escapeHtml(g.label)}</th>`).join('') +
        '</tr>',
    );
  }
  out.push(`<tr><th>${escapeHtml(table.stubHeader ?? '')}</th>${table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`, '</thead>');
  const empty: CellText = { main: '', stars: '', se: null, text: false };
  for (const section of mergeRows(table, published)) {
    out.push('<tbody>');
    if (section.title) out.push(`<tr class="section"><td colspan="${table.columns.length + 1}">${escapeHtml(section.title)}</td></tr>`);
    for (const row of section.rows) {
      const cells = table.columns.map((_, c) => {
        const mine = row.computed?.[c] ?? empty;
        const theirs = row.published?.[c] ?? null;
        const cls = mine.text ? ' class="t"' : '';
        if (!compare) return `<td${cls}>${mainHtml(mine)}</td>`;
        const paper = theirs && (theirs.main !== '' || theirs.stars) ? `<span class="p">${mainHtml(theirs)}</span>` : '';
        return `<td${cls}><span class="c">${mainHtml(mine)}</span>${paper}</td>`;
      });
      out.push(`<tr><td>${escapeHtml(row.label)}</td>${cells.join('')}</tr>`);
      const hasSe = [...(row.computed ?? []), ...(row.published ?? [])].some((t) => t.se !== null);
      if (hasSe) {
        const se = table.columns.map((_, c) => {
          const mine = row.computed?.[c]?.se ?? null;
          const theirs = row.published?.[c]?.se ?? null;
          if (!compare) return `<td>${mine === null ? '' : `(${escapeHtml(mine)})`}</td>`;
          return `<td><span class="c">${mine === null ? '' : `(${escapeHtml(mine)})`}</span>${theirs === null ? '' : `<span class="p">(${escapeHtml(theirs)})</span>`}</td>`;
        });
        out.push(`<tr class="se"><td></td>${se.join('')}</tr>`);
      }
    }
    out.push('</tbody>');
  }
  out.push('</table>');
  return out.join('\n');
}

function notesHtml(notes: string[] | undefined): string {
  return notes && notes.length > 0 ? `<div class="notes">${notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>` : '';
}

function downloads(links: string[] | undefined): string {
  if (!links || links.length === 0) return '';
  return `<p class="downloads">Files: ${links.map((l) => `<a href="${escapeHtml(l)}">${escapeHtml(l)}</a>`).join(' · ')}</p>`;
}

/** a wide table or figure scrolls inside its own box (keyboard-focusable, labelled), never the page */
function scrollBox(inner: string, label: string, extra = ''): string {
  return `<div class="scroll${extra}" tabindex="0" role="region" aria-label="${escapeHtml(label)}">\n${inner}\n</div>`;
}

function publishedBlock(published: Table | string | null | undefined, note: string | undefined): string {
  if (published === undefined && note === undefined) return '';
  let body: string;
  if (published === null || published === undefined) body = `<p>${escapeHtml(note ?? 'The paper publishes no counterpart.')}</p>`;
  else if (typeof published === 'string') body = `<p>${escapeHtml(published)}</p>`;
  else body = scrollBox(tableToHtml(published), captionText(published)) + (note ? `<p class="notes">${escapeHtml(note)}</p>` : '');
  return `<div class="published"><h4>Published (paper)</h4>\n${body}\n</div>`;
}

const KEY = '<p class="key">In each cell: this run\'s value on top, <span class="p">the paper\'s value below it, in brown italics</span>.</p>';

function sectionToHtml(section: HtmlSection): string {
  if (section.kind === 'text') {
    const body = section.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
    return `<section id="${escapeHtml(section.id)}" class="item">\n<h2>${escapeHtml(section.heading)}</h2>\n${section.tone ? `<div class="banner ${section.tone}">${body}</div>` : body}\n</section>`;
  }
  const intro = section.intro ? `<p>${escapeHtml(section.intro)}</p>` : '';
  const head = `<section id="${escapeHtml(section.id)}" class="item">\n<h2>${escapeHtml(section.heading)}</h2>\n${intro}`;
  if (section.kind === 'table') {
    const merge = (section.compare ?? 'merge') === 'merge' && section.published;
    const table = scrollBox(tableToHtml(section.computed, merge ? section.published : undefined), captionText(section.computed));
    const after = merge
      ? (section.publishedNote ? `<p class="notes">${escapeHtml(section.publishedNote)}</p>` : '')
      : publishedBlock(section.published, section.publishedNote);
    return `${head}\n${merge ? KEY : ''}\n${table}\n${notesHtml(section.computed.notes)}\n${after}\n${downloads(section.downloads)}\n</section>`;
  }
  const svg = section.alt ? section.svg.replace(/<svg\b/, `<svg role="img" aria-label="${escapeHtml(section.alt)}"`) : section.svg;
  const figure = scrollBox(`<figure>${svg}${section.caption ? `<figcaption>${escapeHtml(section.caption)}</figcaption>` : ''}</figure>`, section.heading, ' figure-box');
  return `${head}\n${figure}\n${publishedBlock(section.published, undefined)}\n${downloads(section.downloads)}\n</section>`;
}

function provenanceHtml(provenance: Record<string, unknown> | undefined): string {
  if (!provenance || Object.keys(provenance).length === 0) return '';
  const rows = Object.entries(provenance)
    .map(([k, v]) => `<tr><td><code>${escapeHtml(k)}</code></td><td class="t"><code>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</code></td></tr>`)
    .join('\n');
  return `<details class="provenance"><summary>Every parameter this report was computed with</summary>\n${scrollBox(`<table class="report">\n<thead><tr><th>parameter</th><th>value</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>`, 'parameters')}\n</details>`;
}

export function renderHtmlReport(report: HtmlReport): string {
  const facts = report.facts && report.facts.length > 0
    ? `<dl class="facts">${report.facts.map((f) => `<dt>${escapeHtml(f.label)}</dt><dd>${escapeHtml(f.value)}</dd>`).join('')}</dl>`
    : '';
  const nav = `<nav><ul>${report.sections.map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.heading)}</a></li>`).join('')}</ul></nav>`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(report.title)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeHtml(report.title)}</h1>`,
    report.banner ? `<p class="banner ${report.banner.tone}" id="dataset">${escapeHtml(report.banner.text)}</p>` : '',
    report.about ? `<div class="about">${report.about.map((a) => `<p>${escapeHtml(a)}</p>`).join('')}</div>` : '',
    facts,
    provenanceHtml(report.provenance),
    nav,
    '</header>',
    '<main>',
    ...report.sections.map(sectionToHtml),
    '</main>',
    report.footer ? `<footer><p class="notes">${escapeHtml(report.footer)}</p></footer>` : '',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
