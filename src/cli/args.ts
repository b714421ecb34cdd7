// node:util parseArgs with errors turned into usage errors (exit code 2) and a --help text per command.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SpillwayError } from '../errors.js';
import type { Executor } from '../engine/executor.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, help: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new SpillwayError('usage', `spillway ${command}: ${(error as Error).message}`, { hint: `see \`spillway ${command} --help\``, context: { help } });
  }
}

export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new SpillwayError('usage', `--jobs expects a positive integer, got "${value}"`);
  return n;
}

/** Colors only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colorEnabled(stream: { readonly isTTY?: boolean }): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

export function paint(enabled: boolean) {
  const wrap = (code: string) => (text: string) => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { green: wrap('32'), red: wrap('31'), yellow: wrap('33'), dim: wrap('2'), bold: wrap('1'), cyan: wrap('36') };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The executor `--executor NAME` names (run, sweep); undefined for the engine's default (warm workers). Loaded lazily. */
export async function executorNamed(name: string, projectRoot: string, command: string): Promise<(Executor & { maxParallel?: number }) | undefined> {
  if (name === 'workers') return undefined;
  if (name === 'local') return new (await import('../engine/executors/local.js')).LocalExecutor(projectRoot);
  if (name === 'slurm') return (await import('../engine/executors/slurm.js')).SlurmExecutor.create(projectRoot);
  throw new SpillwayError('usage', `--executor expects workers, local or slurm, got "${name}"`, { hint: `see spillway ${command} --help` });
}
