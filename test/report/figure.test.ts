import { describe, expect, it } from 'vitest';
import { XMLValidator } from 'fast-xml-parser';
import { renderVegaLiteToSvg } from '../../src/report/index.js';

describe('renderVegaLiteToSvg', () => {
  it('renders a tiny line chart to well-formed SVG with its marks and labels', async () => {
    const svg = await renderVegaLiteToSvg({
      data: { values: [{ year: 1999, cv: 1.7, series: 'pubs' }, { year: 2000, cv: 1.5, series: 'pubs' }, { year: 2001, cv: 1.2, series: 'pubs' }] },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'year', type: 'ordinal', title: 'Year axis' },
        y: { field: 'cv', type: 'quantitative', title: 'CV axis' },
        color: { field: 'series', type: 'nominal', title: 'Series legend' },
      },
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('Year axis');
    expect(svg).toContain('CV axis');
    expect(svg).toContain('Series legend');
    for (const year of ['1999', '2000', '2001']) expect(svg).toContain(`>${year}</text>`);
    expect(svg).toMatch(/class="mark-line role-mark/);
    // the point overlay: one symbol path per datum
    const points = svg.match(/class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s)?.[1] ?? '';
    expect((points.match(/<path /g) ?? []).length).toBe(3);
  });

  it('reports an invalid spec as a SpillwayError naming the figure', async () => {
    await expect(renderVegaLiteToSvg({ mark: 'nosuchmark' } as never, { id: 'fig-x' })).rejects.toThrowError(/figure "fig-x" could not be rendered/);
  });
});
