// One self-contained HTML page (inline CSS and SVG, no scripts, no external resources) that shows every
// table and figure; each computed table beside the published one in a separate, differently styled panel.
import { assertWellFormed, estimateParts, isEstimate, plainCellText, type Table } from './table.js';

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
  /** prose above the panels */
  intro?: string;
  computed: Table;
  /** the published counterpart, shown in its own panel; null when the source publishes none */
  published?: Table | null;
  /** why there is no published panel, or what it covers */
  publishedNote?: string;
  /** file links shown under the computed panel, e.g. tables/table1.md */
  downloads?: string[];
}

export interface HtmlFigureSection {
  kind: 'figure';
  id: string;
  heading: string;
  intro?: string;
  svg: string;
  caption?: string;
  /** the published counterpart in words or a small table (the paper's figure is an image we do not have) */
  published?: Table | string | null;
  downloads?: string[];
}

export type HtmlSection = HtmlTableSection | HtmlFigureSection;

export interface HtmlReport {
  title: string;
  /** a prominent line under the title, e.g. which dataset the numbers come from */
  banner?: { tone: 'warning' | 'info'; text: string };
  facts?: HtmlFact[];
  /** key → value pairs shown as the provenance block (e.g. the params the run used) */
  provenance?: Record<string, unknown>;
  sections: HtmlSection[];
  footer?: string;
}

const css = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1500px;padding:0 1rem;color:#222}
h1{margin-bottom:.3rem}
.banner{padding:.6rem 1rem;border-radius:4px;font-weight:600;margin:.5rem 0 1rem}
.banner.warning{background:#fff3cd;border:1px solid #e0b000}
.banner.info{background:#e7f1ff;border:1px solid #6b9bd1}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
details.provenance{margin-bottom:1.5rem}
nav ul{columns:2}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1rem;align-items:start}
.panel{border:1px solid #ccc;border-radius:4px;padding:.5rem .75rem;overflow-x:auto}
.panel h4{margin:.2rem 0 .5rem;font-size:.95rem;text-transform:uppercase;letter-spacing:.04em}
.panel.computed{border-left:6px solid #2c7fb8}
.panel.published{border-left:6px solid #999;background:#f7f7f7}
.panel.published h4{color:#555}
table.report{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
table.report caption{text-align:left;font-weight:600;padding-bottom:.3rem}
table.report th,table.report td{padding:.15rem .5rem;text-align:right;white-space:nowrap}
table.report th:first-child,table.report td:first-child{text-align:left}
table.report thead tr:last-child th{border-bottom:1px solid #444}
table.report thead tr:first-child th{border-top:2px solid #444}
table.report tbody:last-of-type tr:last-child td{border-bottom:2px solid #444}
table.report tr.se td{color:#555;font-size:.8rem}
table.report tr.section td{font-style:italic;text-align:left;padding-top:.5rem}
th.group{border-bottom:1px solid #999}
.notes{font-size:.8rem;color:#444}
.figure svg{max-width:100%;height:auto}
.downloads{font-size:.8rem}
`;

export function tableToHtml(table: Table): string {
  assertWellFormed(table);
  const out: string[] = [`<table class="report" id="${escapeHtml(table.id)}">`, `<caption>${escapeHtml(table.title)}</caption>`, '<thead>'];
  if (table.columnGroups) {
    out.push(
      '<tr><th></th>' +
        table.columnGroups.map((g) => `<th class="group" colspan="${g.span}" style="text-align:center">${escapeHtml(g.label)}</th>`).join('') +
        '</tr>',
    );
  }
  out.push(`<tr><th>${escapeHtml(table.stubHeader ?? '')}</th>${table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`, '</thead>');
  for (const section of table.sections) {
    out.push('<tbody>');
    if (section.title) out.push(`<tr class="section"><td colspan="${table.columns.length + 1}">${escapeHtml(section.title)}</td></tr>`);
    for (const row of section.rows) {
      const cells = row.cells.map((cell, c) => {
        if (isEstimate(cell)) {
          const p = estimateParts(table, cell, c);
          return `<td>${escapeHtml(p.coef)}${p.stars ? `<sup>${p.stars}</sup>` : ''}</td>`;
        }
        return `<td>${escapeHtml(plainCellText(table, cell, c))}</td>`;
      });
      out.push(`<tr><td>${escapeHtml(row.label)}</td>${cells.join('')}</tr>`);
      if (row.cells.some((cell) => isEstimate(cell) && cell.se !== null && cell.se !== undefined)) {
        const se = row.cells.map((cell, c) => {
          if (!isEstimate(cell)) return '<td></td>';
          const p = estimateParts(table, cell, c);
          return `<td>${p.se === null ? '' : `(${escapeHtml(p.se)})`}</td>`;
        });
        out.push(`<tr class="se"><td></td>${se.join('')}</tr>`);
      }
    }
    out.push('</tbody>');
  }
  out.push('</table>');
  if (table.notes && table.notes.length > 0) out.push(`<div class="notes">${table.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>`);
  return out.join('\n');
}

function downloads(links: string[] | undefined): string {
  if (!links || links.length === 0) return '';
  return `<p class="downloads">Files: ${links.map((l) => `<a href="${escapeHtml(l)}">${escapeHtml(l)}</a>`).join(' · ')}</p>`;
}

function publishedPanel(published: Table | string | null | undefined, note: string | undefined): string {
  let body: string;
  if (published === null || published === undefined) body = `<p>${escapeHtml(note ?? 'The paper publishes no counterpart.')}</p>`;
  else if (typeof published === 'string') body = `<p>${escapeHtml(published)}</p>`;
  else body = tableToHtml(published) + (note ? `<p class="notes">${escapeHtml(note)}</p>` : '');
  return `<section class="panel published"><h4>Published (paper)</h4>\n${body}\n</section>`;
}

function sectionToHtml(section: HtmlSection): string {
  const intro = section.intro ? `<p>${escapeHtml(section.intro)}</p>` : '';
  if (section.kind === 'table') {
    const computed = `<section class="panel computed"><h4>Computed (this run)</h4>\n${tableToHtml(section.computed)}\n${downloads(section.downloads)}</section>`;
    return `<section id="${escapeHtml(section.id)}" class="item">\n<h2>${escapeHtml(section.heading)}</h2>\n${intro}\n<div class="pair">\n${computed}\n${publishedPanel(section.published, section.publishedNote)}\n</div>\n</section>`;
  }
  const figure = `<section class="panel computed figure"><h4>Computed (this run)</h4>\n<figure>${section.svg}${section.caption ? `<figcaption>${escapeHtml(section.caption)}</figcaption>` : ''}</figure>\n${downloads(section.downloads)}</section>`;
  return `<section id="${escapeHtml(section.id)}" class="item">\n<h2>${escapeHtml(section.heading)}</h2>\n${intro}\n<div class="pair">\n${figure}\n${publishedPanel(section.published, undefined)}\n</div>\n</section>`;
}

function provenanceHtml(provenance: Record<string, unknown> | undefined): string {
  if (!provenance || Object.keys(provenance).length === 0) return '';
  const rows = Object.entries(provenance)
    .map(([k, v]) => `<tr><td><code>${escapeHtml(k)}</code></td><td><code>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</code></td></tr>`)
    .join('\n');
  return `<details class="provenance" open><summary>Provenance: parameters this report was computed with</summary>\n<table class="report">\n<thead><tr><th>parameter</th><th>value</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>\n</details>`;
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
