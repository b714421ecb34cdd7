// The count models' inner loops run in WebAssembly (src/stats/count/kernels.wat) or, where that is unavailable, in
// their JavaScript twins (kernels.ts). The two must give the same bits, so that a fit and its artifact hashes do not
// depend on which ran: checked kernel by kernel on seeded data of every awkward length, on whole fits (one indicator
// per row, overlapping indicators, odd row counts), and through the CLI under node --jitless (no WebAssembly at all).
// The committed module must be the compiled .wat.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fitCountModel, type CountDesign } from '../../../src/stats/count/index.js';
import { KERNELS_WASM } from '../../../src/stats/count/kernels-wasm.js';
import { JS_KERNELS, KernelSpace } from '../../../src/stats/count/kernels.js';
import { useKernels } from '../../../src/stats/count/objective.js';
import { Rng } from '../../../src/stats/random.js';

const ROOT = resolve(__dirname, '../../..');

describe('kernels: the compiled module', () => {
  it('kernels-wasm.ts is kernels.wat compiled by scripts/build-kernels.mjs', async () => {
    const { compileKernels } = (await import(join(ROOT, 'scripts/build-kernels.mjs'))) as { compileKernels: () => Promise<Buffer> };
    expect((await compileKernels()).toString('base64')).toBe(KERNELS_WASM);
  });

  it('runs in WebAssembly here (else every comparison below would compare JavaScript with itself)', () => {
    expect(KernelSpace.create({ n: 4, D: 1, p: 1, G: 1, single: true }).kernels).not.toBe(JS_KERNELS);
    expect(KernelSpace.create({ n: 4, D: 1, p: 1, G: 1, single: true }, false).kernels).toBe(JS_KERNELS);
  });
});

describe('kernels: the sums run in two lanes (even rows, odd rows), in both implementations', () => {
  // 1e16 + 1 rounds back to 1e16: summed in row order, (((1e16 + 1) - 1e16) + 1) = 1; in two lanes, even rows
  // 1e16 - 1e16 = 0 and odd rows 1 + 1 = 2, total 2.
  // [a, b, Σ a·b in lanes, Σ a in lanes]
  const cases: [number[], number[], number, number][] = [
    [[1e16, 1, -1e16, 1], [1, 1, 1, 1], 2, 2],
    [[1e16, 1, -1e16, 1, 3], [1, 1, 1, 1, 1], 5, 5],
    // the last odd row in the even lane: (1 + 1) - 1e17 = -1e17 and 1e17 + 1 = 1e17, total 0 (in the odd lane: 2)
    [[1, 1e17, 1, 1, -1e17], [1, 1, 1, 1, 1], 0, 0],
    [[2, 3, 4], [5, 6, 7], 10 + 18 + 28, 9],
    [[], [], 0, 0],
  ];
  for (const useWasm of [true, false]) {
    it(useWasm ? 'WebAssembly' : 'JavaScript', () => {
      for (const [a, b, expected, laneSum] of cases) {
        const space = KernelSpace.create({ n: a.length, D: 2, p: 4, G: 1, single: false }, useWasm);
        space.dense[0].set(a);
        space.dense[1].set(b);
        expect(space.kernels.dot(space.dense[0], space.dense[1], a.length)).toBe(expected);
        space.w1.set(a);
        space.w2.set(b);
        // weightColumn: Σ w1·x with x = 1s is the lane sum of a; scratch = w2·x = b
        space.dense[1].fill(1);
        expect(space.kernels.weightColumn(space.w1, space.w2, space.dense[1], space.scratch, a.length)).toBe(laneSum);
        expect(Array.from(space.scratch.subarray(0, a.length))).toEqual(b);
      }
    });
  }
});

/** n random doubles of mixed sign and scale (some exact zeros), seeded */
function randoms(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => (rng.uniform() < 0.05 ? 0 : rng.normal() * 10 ** Math.floor(rng.uniform() * 6 - 3)));
}

describe('kernels: WebAssembly and JavaScript give the same bits', () => {
  const rng = Rng.fromSeed(20261130);
  const lengths = [0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 64, 101, 1000, 4097];
  const same = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    expect(x.length).toBe(y.length);
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) expect([i, x[i]]).toEqual([i, y[i]]);
  };

  it('every kernel, at every awkward length', () => {
    for (const n of lengths) {
      const G = Math.max(1, Math.floor(n / 3));
      const shape = { n, D: 5, p: 7, G, single: true };
      const wasm = KernelSpace.create(shape);
      const js = KernelSpace.create(shape, false);
      const columns = Array.from({ length: 5 }, () => randoms(rng, n));
      const w1 = randoms(rng, n);
      const w2 = randoms(rng, n);
      const at = Array.from({ length: n }, () => Math.floor(rng.uniform() * 8) - 1); // -1 .. 6
      const value = randoms(rng, n);
      const beta = randoms(rng, 7);
      // G groups: a random partition of the rows (the last group takes the rest)
      const starts = [0];
      for (let g = 1; g < G; g++) starts.push(Math.min(n, starts[g - 1] + Math.floor(rng.uniform() * 6)));
      starts.push(n);
      const outs = [wasm, js].map((space) => {
        const k = space.kernels;
        columns.forEach((c, i) => space.dense[i].set(c));
        space.w1.set(w1);
        space.w2.set(w2);
        space.at.set(at);
        space.value.set(value);
        space.beta.set(beta);
        space.groupStart.set(starts);
        space.share.set(w2);
        k.dot4(space.w1, space.dense[0], space.dense[1], space.dense[2], space.dense[3], n, space.four);
        const four = Array.from(space.four);
        const dot = k.dot(space.dense[4], space.w2, n);
        const weighted = k.weightColumn(space.w1, space.w2, space.dense[0], space.scratch, n);
        const scratch = Array.from(space.scratch);
        space.cross.fill(0);
        k.scatter(space.scratch, space.at, space.value, space.cross, n);
        const cross = Array.from(space.cross);
        space.eta.set(w1);
        k.axpy(-0.37, space.dense[1], space.eta, n);
        const axpy = Array.from(space.eta);
        const ok = k.addSingleIndex(space.at, space.value, space.beta, space.eta, n, 50);
        const eta = Array.from(space.eta);
        space.scores.fill(0);
        k.groupSums(space.share, space.dense[2], space.groupStart, space.scores, G);
        k.singleGroupSums(space.at, space.value, space.share, space.groupStart, space.scores, G);
        return { four, dot, weighted, scratch, cross, axpy, ok, eta, scores: Array.from(space.scores) };
      });
      const [w, j] = outs;
      same(w.four, j.four);
      same([w.dot, w.weighted], [j.dot, j.weighted]);
      same(w.scratch, j.scratch);
      same(w.cross, j.cross);
      same(w.axpy, j.axpy);
      same(w.eta, j.eta);
      same(w.scores, j.scores);
      expect(w.ok).toBe(j.ok);
      // and the sums are the sums: against a plain row-order sum, to rounding
      const plain = columns[4].reduce((s, x, r) => s + x * w2[r], 0);
      expect(Math.abs(w.dot - plain)).toBeLessThanOrEqual(1e-12 * (1 + columns[4].reduce((s, x, r) => s + Math.abs(x * w2[r]), 0)));
    }
  });

  it('addSingleIndex reports an index above the limit, and a NaN, as not ok', () => {
    for (const useWasm of [true, false]) {
      const space = KernelSpace.create({ n: 3, D: 0, p: 2, G: 1, single: true }, useWasm);
      space.at.set([0, -1, 1]);
      space.value.set([1, 1, 1]);
      space.beta.set([1, 2]);
      space.eta.set([0, 0, 0]);
      expect(space.kernels.addSingleIndex(space.at, space.value, space.beta, space.eta, 3, 1.5)).toBe(false); // 2 > 1.5
      expect(Array.from(space.eta)).toEqual([1, 0, 2]);
      space.eta.set([0, NaN, 0]);
      expect(space.kernels.addSingleIndex(space.at, space.value, space.beta, space.eta, 3, 10)).toBe(false);
      space.eta.set([0, 0, 0]);
      expect(space.kernels.addSingleIndex(space.at, space.value, space.beta, space.eta, 3, 10)).toBe(true);
    }
  });
});

/** g groups × t periods (the last group one period short: an odd row count), x1, x2, period dummies, and an indicator d */
function panel(seed: number, g: number, t: number, withD: boolean): CountDesign {
  const rng = Rng.fromSeed(seed);
  const y: number[] = [];
  const X: number[][] = [];
  const groups: number[] = [];
  const names = ['x1', 'x2', ...Array.from({ length: t - 1 }, (_, k) => `p${k + 1}`), ...(withD ? ['d'] : [])];
  for (let i = 0; i < g; i++) {
    const level = rng.normal();
    const delta = Math.exp(0.5 * rng.normal());
    for (let s = 0; s < (i === g - 1 ? t - 1 : t); s++) {
      const x1 = rng.normal() + 0.4 * level;
      const x2 = rng.normal();
      const d = rng.uniform() < 0.3 ? 1 : 0;
      const dummies = Array.from({ length: t - 1 }, (_, k) => (s === k + 1 ? 1 : 0));
      X.push([x1, x2, ...dummies, ...(withD ? [d] : [])]);
      groups.push(i);
      y.push(rng.poisson(rng.gamma(Math.exp(0.6 + 0.3 * x1 - 0.2 * x2 + 0.05 * s - (withD ? 0.4 * d : 0))) / delta));
    }
  }
  return { y, X, names, groups };
}

describe('kernels: whole fits give the same bits with either implementation', () => {
  afterAll(() => useKernels('wasm'));
  const designs = { 'one indicator per row': panel(3, 60, 7, false), 'overlapping indicators': panel(4, 45, 6, true) };
  for (const [label, design] of Object.entries(designs)) {
    for (const model of ['hhg-fenb', 'fe-poisson', 'nb2'] as const) {
      it(`${model}, ${label} (${design.y.length} rows)`, () => {
        const options = { model, addConstant: model !== 'fe-poisson' };
        useKernels('js');
        const js = fitCountModel(design, options);
        useKernels('wasm');
        const wasm = fitCountModel(design, options);
        expect(wasm.converged).toBe(true);
        expect(wasm.iterations).toBe(js.iterations);
        for (const name of Object.keys(js.coef)) {
          expect(Object.is(wasm.coef[name], js.coef[name]), `coef ${name}`).toBe(true);
          expect(Object.is(wasm.se[name], js.se[name]), `se ${name}`).toBe(true);
        }
        expect(Object.is(wasm.loglik, js.loglik)).toBe(true);
        expect(wasm.identification).toEqual(js.identification);
      });
    }
  }
});

describe('kernels: spillway fit under node --jitless (no WebAssembly) prints the same bytes', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'spillway-kernels-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('hhg-fenb with year dummies', async () => {
    const design = panel(7, 40, 6, false);
    const lines = ['id,year,y,x1,x2'];
    Array.from(design.y).forEach((y, r) => {
      const row = Array.from(design.X[r]);
      const period = row.slice(2).indexOf(1) + 1;
      lines.push([`G${design.groups![r]}`, 2000 + period, y, row[0], row[1]].join(','));
    });
    const file = join(tmp, 'panel.csv');
    writeFileSync(file, lines.join('\n') + '\n');
    const args = [join(ROOT, 'bin/spillway.js'), 'fit', '--data', file, '--y', 'y', '--x', 'x1,x2', '--factor', 'year', '--id', 'id', '--model', 'hhg-fenb', '--json'];
    const fast = await execa('node', args, { reject: false, cwd: tmp });
    const jitless = await execa('node', ['--jitless', ...args], { reject: false, cwd: tmp });
    expect(fast.exitCode).toBe(0);
    expect(jitless.exitCode).toBe(0);
    expect(JSON.parse(fast.stdout).converged).toBe(true);
    expect(jitless.stdout).toBe(fast.stdout);
  });
});
