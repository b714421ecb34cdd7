import { describe, expect, it } from 'vitest';
import { renderHtmlReport, type Table } from '../../src/report/index.js';

const t = (id: string, value: number, label = 'r & s'): Table => ({ id, number: '9', title: `T <${id}>`, columns: ['a'], sections: [{ rows: [{ label, cells: [value] }] }] });

describe('renderHtmlReport', () => {
  const html = renderHtmlReport({
    title: 'Report <script>alert(1)</script>',
    banner: { tone: 'warning', text: 'Dataset: "synthetic"' },
    about: ['Re-run with `a && b`.'],
    facts: [{ label: 'Rows', value: '3 < 4' }],
    provenance: { 'a.b': 'x<y', 'c.d': [1, 2] },
    sections: [
      { kind: 'table', id: 'one', heading: 'One', computed: { ...t('one', 1), sections: [{ rows: [{ label: 'r & s', cells: [1] }, { label: 'only here', cells: [5] }] }] }, published: { ...t('one-published', 2), sections: [{ rows: [{ label: 'r & s', cells: [2] }, { label: 'only paper', cells: [7] }] }] } },
      { kind: 'figure', id: 'fig', heading: 'Fig', svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>', published: 'The paper says 1 < 2.' },
      { kind: 'table', id: 'two', heading: 'Two', computed: t('two', 3), published: null, publishedNote: 'None published.' },
      { kind: 'table', id: 'three', heading: 'Three', computed: t('three', 4), published: t('three-published', 6), compare: 'separate' },
    ],
  });

  it('escapes every text', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain('<title>Report &lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(html).toContain('<p class="banner warning" id="dataset">Dataset: &quot;synthetic&quot;</p>');
    expect(html).toContain('<div class="about"><p>Re-run with `a &amp;&amp; b`.</p></div>');
    expect(html).toContain('<dt>Rows</dt><dd>3 &lt; 4</dd>');
    expect(html).toContain('<tr><td><code>a.b</code></td><td class="t"><code>x&lt;y</code></td></tr>');
    expect(html).toContain('<tr><td><code>c.d</code></td><td class="t"><code>[1,2]</code></td></tr>');
  });

  it('puts the published value of a cell under the computed one, matched by row label; unmatched rows keep their side', () => {
    const one = html.slice(html.indexOf('<section id="one"'), html.indexOf('<section id="fig"'));
    expect(one).toContain('<caption>Table 9: T &lt;one&gt;</caption>');
    expect(one).toContain('<tr><td>r &amp; s</td><td><span class="c">1</span><span class="p">2</span></td></tr>');
    expect(one).toContain('<tr><td>only here</td><td><span class="c">5</span></td></tr>');
    expect(one).toContain('<tr><td>only paper</td><td><span class="c"></span><span class="p">7</span></td></tr>');
    // inside a scroll box of its own
    expect(one).toMatch(/<div class="scroll" tabindex="0" role="region" aria-label="Table 9: T &lt;one&gt;">\n<table class="report compare" id="one-table">/);
  });

  it('shows figures and uncompared tables with the published statement in its own block', () => {
    expect(html).toContain('<figure><svg xmlns="http://www.w3.org/2000/svg"></svg></figure>');
    expect(html).toContain('<div class="published"><h4>Published (paper)</h4>\n<p>The paper says 1 &lt; 2.</p>');
    expect(html).toContain('<div class="published"><h4>Published (paper)</h4>\n<p>None published.</p>');
    const three = html.slice(html.indexOf('<section id="three"'));
    expect(three).toContain('<table class="report" id="three-table">');
    expect(three).toContain('<table class="report" id="three-published-table">');
    expect(three).toContain('<tr><td>r &amp; s</td><td>6</td></tr>');
  });
});
