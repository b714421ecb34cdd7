// The first thing `spillway run` loads (bin/spillway.js): the check of the no-op record alone
// (src/engine/noop-record.ts), bundled on its own (dist/cli-noop.bundle.cjs, a small fraction of the run's bundle).
// When the record holds, its report is the run's; otherwise (no record, one that does not hold, options it does not
// cover, arguments to complain about) bin/spillway.js goes on to the run's bundle, which decides as usual.
import { parseRunArgs, replayFromRecord } from './run-report.js';

export { runOutcome } from './output.js';

/** `argv` as for main.ts's main (the command name first): the run's exit code, or undefined when the engine must decide. */
export async function main(argv: string[]): Promise<number | undefined> {
  if (argv[0] !== 'run') return undefined;
  try {
    const args = parseRunArgs(argv.slice(1));
    return args.values.help ? undefined : await replayFromRecord(args);
  } catch {
    return undefined; // bad arguments and the like: the run's own bundle reports them
  }
}
