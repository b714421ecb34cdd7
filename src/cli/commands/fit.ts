// `spillway fit`: fit a count-panel model (hhg-fenb, fe-poisson, nb2) to a CSV file and print a regression table or JSON.
import { parseArgs } from 'node:util';
import { ExitCode, SpillwayError } from '../../errors.js';
import { loadDesign, type TableArgs } from '../fit-table.js';
import { writeStdout } from '../output.js';
import { fitCountModel, type CountModel, type FitResult } from '../../stats/count/index.js';

const MODELS: CountModel[] = ['hhg-fenb', 'fe-poisson', 'nb2'];

const HELP = `usage: spillway fit --data FILE.csv --id COL --y DEPVAR --x a,b,c [--factor year] [--exposure COL | --offset COL]
                    [--model hhg-fenb|fe-poisson|nb2] [--no-constant] [--json]

Fits a count-panel model to a CSV file (header row, comma-separated) and prints a regression table.
  --data FILE       the CSV file (FILE.csv.gz: gzip-compressed)
  --id COL          panel id column (required by hhg-fenb and fe-poisson; ignored by nb2)
  --y COL           the count outcome (non-negative integers)
  --x a,b,c         regressors, comma-separated
  --factor COL      add indicator columns for the levels of COL, base = smallest level (repeatable)
  --exposure COL    exposure (> 0): ln(COL) enters with coefficient 1 (Stata exposure())
  --offset COL      offset entering with coefficient 1 (Stata offset())
  --model M         hhg-fenb (default; Stata xtnbreg, fe), fe-poisson (xtpoisson, fe) or nb2 (nbreg)
  --no-constant     do not add _cons (hhg-fenb and nb2 add it by default)
  --json            print {model, coef, se, loglik, n, groups, dropped_groups, dropped_columns, iterations, converged, ...}
Rows with a missing cell (empty, NA or .) in a used column are left out and counted.
Exit code 0 on convergence, 7 when the fit did not converge or the likelihood is flat or near-flat (hhg-fenb: the
maximum is barely above the conditional FE Poisson limit; see docs/estimators.md); results are still printed.`;

interface ParsedArgs extends TableArgs {
  constant: boolean;
  json: boolean;
}

function usageError(message: string, hint?: string): SpillwayError {
  return new SpillwayError('usage', message, { hint: hint ?? 'run `spillway fit --help`' });
}

function parseCommandLine(argv: string[]): ParsedArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        id: { type: 'string' },
        y: { type: 'string' },
        x: { type: 'string' },
        factor: { type: 'string', multiple: true },
        exposure: { type: 'string' },
        offset: { type: 'string' },
        model: { type: 'string', default: 'hhg-fenb' },
        'no-constant': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (!values.data) throw usageError('--data FILE.csv is required');
  if (!values.y) throw usageError('--y DEPVAR is required');
  const model = values.model as CountModel;
  if (!MODELS.includes(model)) throw usageError(`unknown --model "${values.model}"`, `choose one of ${MODELS.join(', ')}`);
  if (model !== 'nb2' && !values.id) throw usageError(`--id COL (the panel id) is required by ${model}`);
  if (values.exposure && values.offset) throw usageError('give --exposure or --offset, not both');
  const x = (values.x ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const factors = values.factor ?? [];
  if (x.length === 0 && factors.length === 0) throw usageError('--x a,b,c (or --factor COL) is required');
  // a CSV record is an object keyed by column name (csv-parse): a column named __proto__ cannot be one of its keys
  for (const [option, names] of [['--id', [values.id]], ['--y', [values.y]], ['--x', x], ['--factor', factors], ['--exposure', [values.exposure]], ['--offset', [values.offset]]] as const) {
    if (names.includes('__proto__')) throw usageError(`${option}: a column named "__proto__" cannot be read`, 'rename the column in the file (e.g. to proto)');
  }
  return {
    data: values.data,
    id: values.id,
    y: values.y,
    x,
    factors,
    exposure: values.exposure,
    offset: values.offset,
    model,
    constant: !values['no-constant'] && model !== 'fe-poisson',
    json: values.json,
  };
}


function stars(p: number): string {
  return p < 0.01 ? '***' : p < 0.05 ? '**' : p < 0.1 ? '*' : '';
}

function formatNumber(v: number, width: number, digits = 6): string {
  if (!Number.isFinite(v)) return (Number.isNaN(v) ? '.' : String(v)).padStart(width);
  const text = Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-4 && v !== 0) ? v.toExponential(digits - 2) : v.toFixed(digits);
  return text.padStart(width);
}

function fixed(v: number, digits: number, width: number): string {
  return (Number.isFinite(v) ? v.toFixed(digits) : '.').padStart(width);
}

const MODEL_TITLES: Record<CountModel, string> = {
  'hhg-fenb': 'Conditional FE negative binomial (HHG 1984; Stata xtnbreg, fe)',
  'fe-poisson': 'Conditional FE Poisson (Stata xtpoisson, fe)',
  nb2: 'Negative binomial NB2 (Stata nbreg)',
};

export function formatTable(fit: FitResult, baseLevels: string[], missingRows: number): string {
  const names = Object.keys(fit.coef);
  const width = Math.max(12, ...names.map((n) => n.length), ...baseLevels.map((n) => n.length)) + 1;
  const lines: string[] = [];
  lines.push(MODEL_TITLES[fit.model]);
  lines.push(
    `Number of obs = ${fit.n}` +
      (fit.groups !== null ? `   Number of groups = ${fit.groups}   dropped all-zero/singleton groups = ${fit.dropped_groups} (${fit.dropped_observations} obs)` : '') +
      (missingRows > 0 ? `   rows with missing cells left out = ${missingRows}` : ''),
  );
  lines.push(`Log likelihood = ${fit.loglik.toFixed(6)}   AIC = ${fit.aic.toFixed(3)}   BIC = ${fit.bic.toFixed(3)}` + (fit.wald ? `   Wald chi2(${fit.wald.df}) = ${fit.wald.chi2.toFixed(2)}` : ''));
  const id = fit.identification;
  lines.push(
    `Iterations = ${fit.iterations}   converged = ${fit.converged ? 'yes' : 'NO'}` +
      (id ? `   near-flat likelihood = ${id.near_flat ? 'YES' : 'no'} (2·(log L − FE Poisson limit ${id.fe_poisson_loglik.toFixed(4)}) = ${id.lr_vs_fe_poisson.toPrecision(3)})` : ''),
  );
  const rule = '-'.repeat(width + 13 * 4 + 26 + 4);
  lines.push(rule);
  lines.push(`${''.padEnd(width)}${'Coef.'.padStart(13)}${'Std. Err.'.padStart(13)}${'z'.padStart(9)}${'P>|z|'.padStart(8)}${'[95% Conf. Interval]'.padStart(28)}`);
  lines.push(rule);
  for (const name of names) {
    const [lo, hi] = fit.ci95[name];
    lines.push(
      `${name.padEnd(width)}${formatNumber(fit.coef[name], 13)}${formatNumber(fit.se[name], 13)}${fixed(fit.z[name], 2, 9)}${fixed(fit.p[name], 3, 8)}${formatNumber(lo, 14)}${formatNumber(hi, 14)} ${stars(fit.p[name])}`,
    );
  }
  for (const base of baseLevels) lines.push(`${base.padEnd(width)}${'0'.padStart(13)}  (base)`);
  if (fit.model === 'nb2') {
    lines.push(rule);
    lines.push(`${'/lnalpha'.padEnd(width)}${formatNumber(fit.ancillary.lnalpha, 13)}${formatNumber(fit.ancillary.se_lnalpha, 13)}`);
    lines.push(`${'alpha'.padEnd(width)}${formatNumber(fit.ancillary.alpha, 13)}${formatNumber(fit.ancillary.se_alpha, 13)}`);
  }
  lines.push(rule);
  lines.push('*** p<0.01, ** p<0.05, * p<0.1');
  for (const d of fit.dropped_columns) lines.push(`note: ${d.name} omitted: ${d.reason}`);
  for (const w of fit.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseCommandLine(argv);
  if (args === 'help') {
    writeStdout(HELP + '\n');
    return ExitCode.ok;
  }
  const { design, missingRows, baseLevels } = await loadDesign(args);
  const fit = fitCountModel(design, { model: args.model, addConstant: args.constant });
  if (args.json) {
    const out = {
      model: fit.model,
      coef: fit.coef,
      se: fit.se,
      loglik: fit.loglik,
      n: fit.n,
      groups: fit.groups,
      dropped_groups: fit.dropped_groups,
      dropped_columns: fit.dropped_columns,
      iterations: fit.iterations,
      converged: fit.converged,
      z: fit.z,
      p: fit.p,
      ci95: fit.ci95,
      ancillary: fit.ancillary,
      aic: fit.aic,
      bic: fit.bic,
      dropped_observations: fit.dropped_observations,
      missing_rows: missingRows,
      base_levels: baseLevels,
      wald: fit.wald ?? null,
      convergence: fit.convergence,
      warnings: fit.warnings,
      near_flat: fit.identification?.near_flat ?? false,
      identification: fit.identification ?? null,
    };
    writeStdout(JSON.stringify(out, null, 2) + '\n');
  } else {
    writeStdout(formatTable(fit, baseLevels, missingRows) + '\n');
  }
  return fit.converged && !fit.identification?.near_flat ? ExitCode.ok : ExitCode.notConverged;
}
