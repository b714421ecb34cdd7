// The CLI boundary: dispatches to one command module, turns errors into one message and an exit code. The command
// tables are the entries' (main.ts: every command; main-run.ts: `run` alone, bundled on its own for a fast start).
import { readFileSync } from 'node:fs';
import { ExitCode, isSpillwayError } from '../errors.js';
import { onStdout, writeStdout } from './output.js';

export type CommandMain = (argv: string[]) => Promise<number>;

/** A command: its one-line summary for the usage text, and its module, loaded only when the command is called. */
export interface Command {
  summary: string;
  load: () => Promise<{ main: CommandMain }>;
}

export function usage(commands: Record<string, Command>): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: spillway <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`spillway <command> --help\` for a command's options. Every command that reports results takes --json.`;
}

export async function dispatch(argv: string[], commands: Record<string, Command>): Promise<number> {
  // `spillway status | head`: a closed pipe ends the command quietly instead of crashing it (on the stream's first
  // use: a no-op run does not create it, see output.ts).
  onStdout((stdout) =>
    stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    }),
  );
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(commands) + '\n');
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === '-V') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    writeStdout(`spillway ${pkg.version}\n`);
    return ExitCode.ok;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`spillway: unknown command "${name}"\n\n${usage(commands)}\n`);
    return ExitCode.usage;
  }
  try {
    const mod = await command.load();
    return await mod.main(rest);
  } catch (error) {
    return reportError(error, rest.includes('--json'));
  }
}

/** The single place where an error becomes text (or JSON) on stderr and an exit code. */
export function reportError(error: unknown, json: boolean): number {
  if (isSpillwayError(error)) {
    if (json) process.stdout.write(JSON.stringify(error.toJSON()) + '\n');
    process.stderr.write(`spillway: ${error.format()}\n`);
    return error.exitCode;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) process.stdout.write(JSON.stringify({ error: 'internal', message: String(error), exit_code: ExitCode.internal }) + '\n');
  process.stderr.write(`spillway: internal error (please report it):\n${text}\n`);
  return ExitCode.internal;
}
