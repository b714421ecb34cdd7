// `spillway fit` on the default data's leading rows (fixtures/README.md): model (5) is near-flat, which the table,
// the JSON and the exit status (7, as `fit --help` says) show; model (6) is not. Real subprocess (needs `npm run build`).
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA = fileURLToPath(new URL('./fixtures/leading-rows.csv', import.meta.url));
const CONTROLS = 'intl_collab_intensity,rd_gdp,nonnano_patents_per_rd,gdp_per_capita';
const MODEL5 = `nano_funding_log,techspill_collab_log,techspill_spatial_log,${CONTROLS}`;
const MODEL6 = `nano_funding_log,fundspill_collab_log,fundspill_spatial_log,${CONTROLS}`;

const fit = (...args: string[]) =>
  execa('node', [`${ROOT}bin/spillway.js`, 'fit', '--data', DATA, '--id', 'region', '--y', 'nano_patents', '--factor', 'year', ...args], { reject: false });

describe('spillway fit on a near-flat HHG likelihood', () => {
  it('model (5): the table says near-flat, the warning explains it, exit status 7', async () => {
    const result = await fit('--x', MODEL5);
    expect(result.exitCode).toBe(7);
    expect(result.stdout).toMatch(/converged = yes {3}near-flat likelihood = YES \(2·\(log L − FE Poisson limit -\d+\.\d{4}\) = [0-9.e-]+\)/);
    expect(result.stdout).toMatch(/^warning: near-flat likelihood: /m);
  });

  it('model (5) --json: near_flat true with the three indicators, exit status 7', async () => {
    const result = await fit('--x', MODEL5, '--json');
    expect(result.exitCode).toBe(7);
    const out = JSON.parse(result.stdout);
    expect(out.converged).toBe(true);
    expect(out.near_flat).toBe(true);
    expect(out.identification.indicators).toEqual({ gap: true, curvature: true, lambda: true });
    expect(out.identification.lr_vs_fe_poisson).toBeLessThan(0.001);
    expect(out.warnings.some((w: string) => w.startsWith('near-flat likelihood'))).toBe(true);
  });

  it('model (6) on the same rows: near-flat = no, exit status 0', async () => {
    const result = await fit('--x', MODEL6);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/near-flat likelihood = no/);
    expect(result.stdout).not.toMatch(/^warning:/m);
  });
});
