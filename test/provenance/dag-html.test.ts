/// <reference lib="dom" />
// `spillway dag --format html` drawn by a real headless Chromium (Debian's, driven by playwright-core): the test reads
// what the page draws (boxes, colours, edges, tooltips), not only that it loads. `.ci/run` installs chromium.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_STYLE } from '../../src/provenance/dag-html.js';
import { makeProject, spillway } from './real-project.js';

let root: string;
let profile: string;
let context: BrowserContext;
let page: Page;
const requests: string[] = [];

/** "#c8e6c9" → "rgb(200, 230, 201)", as getComputedStyle reports it */
const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;

beforeAll(async () => {
  root = await makeProject('spillway-dag-html-');
  const first = await spillway(['run'], root);
  expect(first.code, first.stderr).toBe(0);
  // Then: total's param changes (stale, report upstream of it), a stage that throws is tried (failed), and a stage
  // is added but never run.
  const pipeline = (await readFile(path.join(root, 'pipeline.yaml'), 'utf8')).replace('total: { offset: 1 }', 'total: { offset: 2 }');
  await writeFile(
    path.join(root, 'pipeline.yaml'),
    `${pipeline}  boom:\n    run: stages/boom.ts\n    inputs: { counts: count.counts }\n    outs:\n      x: { schema: schemas/sum.schema.json }\n  extra:\n    run: stages/total.ts\n    inputs: { counts: count.counts }\n    params: [total.offset]\n    outs:\n      sum: { schema: schemas/sum.schema.json }\n`,
  );
  await writeFile(path.join(root, 'stages/boom.ts'), "export default () => { throw new Error('boom'); };\n");
  const failed = await spillway(['run', 'boom'], root);
  expect(failed.code).toBe(1);
  const html = await spillway(['dag', '--format', 'html'], root);
  expect(html.code, html.stderr).toBe(0);
  await writeFile(path.join(root, 'dag.html'), html.stdout);

  profile = await mkdtemp(path.join(tmpdir(), 'spillway-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${path.join(root, 'dag.html')}`);
}, 180_000);

afterAll(async () => {
  await context?.close();
  await rm(root, { recursive: true, force: true });
  if (profile) await rm(profile, { recursive: true, force: true });
});

interface Drawn {
  stage: string;
  state: string;
  fill: string;
  box: { x: number; y: number; width: number; height: number };
  title: string;
}

const nodes = () =>
  page.$$eval('g.node', (gs) =>
    gs.map((g) => {
      const rect = g.querySelector('rect')!;
      const b = rect.getBoundingClientRect();
      return { stage: g.getAttribute('data-stage')!, state: g.getAttribute('data-state')!, fill: getComputedStyle(rect).fill, box: { x: b.x, y: b.y, width: b.width, height: b.height }, title: g.querySelector('title')!.textContent! };
    }),
  ) as Promise<Drawn[]>;

describe('dag --format html in Chromium', () => {
  it('draws every stage as a box in the colour of its state', async () => {
    const drawn = await nodes();
    expect(Object.fromEntries(drawn.map((n) => [n.stage, n.state]))).toEqual({
      count: 'up-to-date', total: 'stale', report: 'upstream-stale', boom: 'failed', extra: 'never-run',
    });
    for (const n of drawn) {
      expect(n.fill, n.stage).toBe(rgb(STATE_STYLE[n.state as keyof typeof STATE_STYLE].fill));
      expect(n.box.width).toBeGreaterThan(100);
      expect(n.box.height).toBeGreaterThan(30);
    }
    // no two boxes overlap, and each stage is drawn right of what it reads
    for (const a of drawn) for (const b of drawn) {
      if (a === b) continue;
      const apart = a.box.x + a.box.width <= b.box.x || b.box.x + b.box.width <= a.box.x || a.box.y + a.box.height <= b.box.y || b.box.y + b.box.height <= a.box.y;
      expect(apart, `${a.stage} / ${b.stage}`).toBe(true);
    }
    const x = Object.fromEntries(drawn.map((n) => [n.stage, n.box.x]));
    expect(x.count).toBeLessThan(x.total);
    expect(x.total).toBeLessThan(x.report);
    expect(x.count).toBeLessThan(x.boom);
  });

  it('says why in each stage\'s tooltip and in the table', async () => {
    const drawn = Object.fromEntries((await nodes()).map((n) => [n.stage, n.title]));
    expect(drawn.total).toMatch(/^total: stale\n- param total\.offset: 1 → 2/);
    expect(drawn.boom).toMatch(/^boom: failed\n- last attempt .* failed \(see \.spillway\/logs\/boom\.log\)/);
    expect(drawn.extra).toMatch(/^extra: never run/);
    expect(drawn.count).toBe('count: up to date');
    const row = await page.$eval('tr[data-stage="total"]', (tr) => tr.textContent);
    expect(row).toContain('param total.offset: 1 → 2');
  });

  it('draws one arrow per edge, from the right side of the upstream box to the left side of the downstream one', async () => {
    const drawn = Object.fromEntries((await nodes()).map((n) => [n.stage, n.box]));
    const edges = await page.$$eval('g.edge', (gs) =>
      gs.map((g) => {
        const p = g.querySelector('path') as SVGPathElement;
        const m = p.getScreenCTM()!;
        const at = (len: number) => {
          const pt = p.getPointAtLength(len);
          return { x: pt.x * m.a + m.e, y: pt.y * m.d + m.f };
        };
        return { from: g.getAttribute('data-from')!, to: g.getAttribute('data-to')!, start: at(0), end: at(p.getTotalLength()), marker: p.getAttribute('marker-end') };
      }),
    );
    expect(edges.map((e) => `${e.from}→${e.to}`).sort()).toEqual(['count→boom', 'count→extra', 'count→total', 'total→report']);
    for (const e of edges) {
      const a = drawn[e.from];
      const b = drawn[e.to];
      expect(Math.abs(e.start.x - (a.x + a.width))).toBeLessThan(2);
      expect(e.start.y).toBeGreaterThan(a.y);
      expect(e.start.y).toBeLessThan(a.y + a.height);
      expect(Math.abs(e.end.x - b.x)).toBeLessThan(8);
      expect(e.end.y).toBeGreaterThan(b.y);
      expect(e.end.y).toBeLessThan(b.y + b.height);
      expect(e.marker).toBe('url(#arrow)');
    }
  });

  it('counts the states in the legend and fetches nothing', async () => {
    const legend = await page.$$eval('ul.legend li', (lis) => lis.map((li) => [li.getAttribute('data-state'), li.querySelector('.count')!.textContent]));
    expect(Object.fromEntries(legend)).toEqual({ 'up-to-date': '(1)', stale: '(1)', 'upstream-stale': '(1)', restorable: '(0)', failed: '(1)', 'never-run': '(1)' });
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    expect(requests).toHaveLength(1);
  });
});
