/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The report page in a real browser (headless Debian chromium driven by playwright-core) at 1920, 1400 and 390 px:
// nothing clipped at the two desktop widths, no sideways page scroll on a phone, every table and figure present.
// The page is built by the report stage from the fixture (test/fixtures/report). `.ci/run` installs chromium;
// set SPILLWAY_SCREENSHOTS=DIR to keep full-page screenshots for a look.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStageContext } from '../../src/engine/stage-context.js';
import { contentHash } from '../../src/report/replication/robustness.js';
import report from '../../stages/report.js';
import { modelsAgreeingWithDefault } from './robustness-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const root = join(import.meta.dirname, '..', '..');
const fixture = (name: string) => JSON.parse(readFileSync(join(root, 'test/fixtures/report', `${name}.json`), 'utf8'));
const CURVES = ['robustness-funding', 'robustness-techspill-collab', 'robustness-techspill-proximity', 'robustness-fundspill-collab', 'robustness-fundspill-proximity'];
const ITEMS = ['table1', 'table2', 'table3', 'table4', 'table4-estimators', 'figure3', 'figure4', 'robustness', ...CURVES, 'robustness-agreement', 'recovery', 'calibration'];

let tmp: string;
let browser: BrowserContext;
let page: Page;
let url: string;

describe.skipIf(!existsSync(CHROMIUM))('report/index.html in headless chromium', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'spillway-browser-'));
    // the hand-made sweep summary, made current: models that agree with its default variant, and their hash
    const summary = fixture('robustness-summary');
    const models = modelsAgreeingWithDefault();
    summary.variants[0].stages.estimate.outputs.models.content = contentHash(models);
    mkdirSync(join(tmp, 'results'));
    writeFileSync(join(tmp, 'results/robustness.json'), JSON.stringify(summary));
    const ctx = createStageContext({
      stage: 'report',
      projectRoot: root,
      outDir: join(tmp, 'out'),
      outs: { site: 'dir' },
      params: { classify: { criterion: 'total_publications', top_share: 0.25 }, weights: { spatial_standardization: 'eq4' }, lag: { years: 1 } },
      deps: ['data/paper/published.json', 'test/fixtures/report/truth.json', join(tmp, 'results/robustness.json')],
      inputs: { panel: fixture('panel'), ingest_report: fixture('ingest_report'), groups: fixture('groups'), spillovers: fixture('spillovers'), design: fixture('design'), models },
      log: () => {},
    });
    await report(ctx);
    url = pathToFileURL(join(tmp, 'out', 'site', 'index.html')).href;
    browser = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function load(width: number): Promise<void> {
    await page.setViewportSize({ width, height: 1000 });
    await page.goto(url);
    const dir = process.env.SPILLWAY_SCREENSHOTS;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, `report-${width}.png`), fullPage: true });
    }
  }

  /** boxes whose content is wider than the box (clipped or scrolled), and text blocks sticking out of their parent */
  const overflow = () =>
    page.evaluate(() => {
      const out: string[] = [];
      const name = (e: Element) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.split(' ').join('.')}` : ''}`;
      for (const box of document.querySelectorAll('.scroll')) {
        if (box.scrollWidth > box.clientWidth + 1) out.push(`${name(box.firstElementChild ?? box)} is ${box.scrollWidth}px wide in a ${box.clientWidth}px box`);
      }
      for (const e of document.querySelectorAll('p, h1, h2, dd, dt, li, summary, table, figure, svg')) {
        const parent = e.parentElement!.getBoundingClientRect();
        if (e.getBoundingClientRect().right > parent.right + 1 && !e.closest('.scroll')) out.push(`${name(e)} sticks out of its parent`);
      }
      return out;
    });

  for (const width of [1920, 1400]) {
    it(`at ${width} px no table, figure or text block is wider than the box that shows it`, async () => {
      await load(width);
      expect(await overflow()).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    });
  }

  it('at 390 px the page does not scroll sideways; wide tables scroll in their own box with the first column kept in view', async () => {
    await load(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    const boxes = await page.evaluate(() =>
      [...document.querySelectorAll('table.report')].map((t) => {
        const box = t.closest('.scroll');
        return {
          id: t.id,
          scrolls: box !== null && getComputedStyle(box).overflowX === 'auto',
          sticky: getComputedStyle(t.querySelector('tbody td:first-child, tbody th:first-child')!).position,
          wide: t.getBoundingClientRect().width > (box?.clientWidth ?? 0),
        };
      }),
    );
    expect(boxes.filter((b) => !b.scrolls)).toEqual([]);
    expect(boxes.filter((b) => b.sticky !== 'sticky')).toEqual([]);
    // Table 3 (13 columns) and Table 4 (9 models) do not fit 390 px: they are the ones that scroll
    expect(boxes.filter((b) => b.wide).map((b) => b.id)).toEqual(expect.arrayContaining(['table3-table', 'table4-table']));
    // scrolling Table 4's box keeps its first column (the variable names) at the box's left edge
    const kept = await page.evaluate(() => {
      const t = document.getElementById('table4-table')!;
      const box = t.closest('.scroll')!;
      box.scrollLeft = 300;
      const cell = t.querySelector('tbody tr td:first-child')!.getBoundingClientRect();
      return { scrolled: box.scrollLeft, offset: Math.round(cell.left - box.getBoundingClientRect().left) };
    });
    expect(kept.scrolled).toBeGreaterThan(0);
    expect(kept.offset).toBe(0);
  });

  it('every table and figure is present, with the paper\'s value under this run\'s in the compared tables', async () => {
    await load(1400);
    for (const id of ITEMS) expect(await page.locator(`section#${id}`).count(), id).toBe(1);
    expect(await page.locator('section#figure3 svg').count()).toBe(1);
    expect(await page.locator('section#figure4 svg').count()).toBe(1);
    // each specification curve is one SVG with a text alternative, and Table A3 is there
    for (const id of CURVES) expect(await page.locator(`section#${id} svg[role="img"]`).getAttribute('aria-label'), id).toMatch(/^Specification curve of the /);
    expect(await page.locator('#robustness-agreement-table').count()).toBe(1);
    // Table 1, leading 2010: computed 840 above the paper's 4419, in the same cell
    const cell = page.locator('#table1 tbody tr', { hasText: 'Leading regions' }).locator('td').nth(3);
    expect(await cell.locator('.c').textContent()).toBe('840');
    expect(await cell.locator('.p').textContent()).toBe('4419');
    const [c, p] = await Promise.all([cell.locator('.c').boundingBox(), cell.locator('.p').boundingBox()]);
    expect(p!.y).toBeGreaterThan(c!.y);
    // figures keep a legible size: the smallest SVG text is no smaller than the page's smallest table text
    const sizes = await page.evaluate(() => ({
      svg: Math.min(...[...document.querySelectorAll('figure svg text')].map((t) => t.getBoundingClientRect().height).filter((h) => h > 0)),
      body: Math.min(...[...document.querySelectorAll('.notes p')].map((e) => parseFloat(getComputedStyle(e).fontSize))),
    }));
    expect(sizes.svg).toBeGreaterThanOrEqual(sizes.body * 0.9);
  });
});
