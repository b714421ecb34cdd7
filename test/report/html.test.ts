import { describe, expect, it } from 'vitest';
import { renderHtmlReport, type Table } from '../../src/report/index.js';

const t = (id: string, value: number): Table => ({ id, title: `T <${id}>`, columns: ['a'], sections: [{ rows: [{ label: 'r & s', cells: [value] }] }] });

describe('renderHtmlReport', () => {
  it('puts computed and published tables in separate panels and escapes every text', () => {
    const html = renderHtmlReport({
      title: 'Report <script>alert(1)</script>',
      banner: { tone: 'warning', text: 'Dataset: "synthetic"' },
      facts: [{ label: 'Rows', value: '3 < 4' }],
      provenance: { 'a.b': 'x<y', 'c.d': [1, 2] },
      sections: [
        { kind: 'table', id: 'one', heading: 'One', computed: t('one', 1), published: t('one-published', 2) },
        { kind: 'figure', id: 'fig', heading: 'Fig', svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>', published: 'The paper says 1 < 2.' },
        { kind: 'table', id: 'two', heading: 'Two', computed: t('two', 3), published: null, publishedNote: 'None published.' },
      ],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('<title>Report &lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(html).toContain('<p class="banner warning" id="dataset">Dataset: &quot;synthetic&quot;</p>');
    expect(html).toContain('<dt>Rows</dt><dd>3 &lt; 4</dd>');
    expect(html).toContain('<tr><td><code>a.b</code></td><td><code>x&lt;y</code></td></tr>');
    expect(html).toContain('<tr><td><code>c.d</code></td><td><code>[1,2]</code></td></tr>');
    // table one: computed panel (1) then published panel (2), each its own <section>
    const one = html.slice(html.indexOf('<section id="one"'), html.indexOf('<section id="fig"'));
    const computed = one.indexOf('<section class="panel computed"><h4>Computed (this run)</h4>');
    const published = one.indexOf('<section class="panel published"><h4>Published (paper)</h4>');
    expect(computed).toBeGreaterThan(0);
    expect(published).toBeGreaterThan(computed);
    expect(one.slice(computed, published)).toContain('<td>r &amp; s</td><td>1</td>');
    expect(one.slice(published)).toContain('<td>r &amp; s</td><td>2</td>');
    expect(html).toContain('<p>The paper says 1 &lt; 2.</p>');
    expect(html).toContain('<p>None published.</p>');
    expect(html).toContain('<figure><svg xmlns="http://www.w3.org/2000/svg"></svg></figure>');
  });
});
