// node:util parseArgs with errors turned into usage errors (exit code 2) and a --help text per command.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SpillwayError } from '../errors.js';
import type { Executor } from '../engine/executor.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, help: string) {
  const config = { args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } }, allowPositionals: true, strict: true } as const;
  const quick = simpleParse(argv, config.options);
  if (quick !== undefined) return quick as ReturnType<typeof parseArgs<typeof config>>;
  try {
    return parseArgs(config);
  } catch (error) {
    throw new SpillwayError('usage', `spillway ${command}: ${(error as Error).message}`, { hint: `see \`spillway ${command} --help\``, context: { help } });
  }
}

/**
 * What parseArgs (strict, positionals allowed) returns for the arguments a command is usually given (`--name`,
 * `--name VALUE`, `-x VALUE`, positionals), or undefined for anything else (`--name=VALUE`, `-abc`, `--`, an unknown
 * option, a value that starts with a dash, a missing value): parseArgs then parses them, and says what is wrong. Its
 * first call costs about 1.5 ms (node compiles it on first use), a tenth of a no-op run's own work.
 */
export function simpleParse(argv: string[], options: Options): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } | undefined {
  const values: Record<string, string | boolean | (string | boolean)[] | undefined> = Object.create(null) as Record<string, never>;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    if (arg.startsWith('--')) {
      if (arg.length === 2 || arg.includes('=')) return undefined;
      name = arg.slice(2);
      if (!Object.hasOwn(options, name)) return undefined;
    } else {
      if (arg.length !== 2) return undefined;
      name = Object.keys(options).find((k) => options[k]?.short === arg[1]);
      if (name === undefined) return undefined;
    }
    const option = options[name] as NonNullable<Options[string]>;
    let value: string | boolean = true;
    if (option.type === 'string') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) return undefined;
      value = next;
      i += 1;
    }
    if (option.multiple) ((values[name] ??= []) as (string | boolean)[]).push(value);
    else values[name] = value;
  }
  for (const [name, option] of Object.entries(options)) if (values[name] === undefined && option.default !== undefined) values[name] = option.default;
  return { values, positionals };
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
