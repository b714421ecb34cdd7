// Generic report rendering: tables (Markdown, LaTeX, CSV, HTML), figures (Vega-Lite → SVG), descriptive
// statistics, and one self-contained HTML page. Nothing here knows what the numbers mean.
export * from './table.js';
export { tableToMarkdown, escapeMarkdown } from './markdown.js';
export { tableToLatex, escapeLatex } from './latex.js';
export { tableToCsv } from './csv.js';
export { renderVegaLiteToSvg, type VegaLiteSpec } from './figure.js';
export { summarize, correlationMatrix, coefficientOfVariation, compoundGrowthRate, type Summary } from './stats.js';
export { renderHtmlReport, tableToHtml, escapeHtml, type HtmlReport, type HtmlSection, type HtmlFact } from './html.js';
export { writeFileTree } from './files.js';
