// parseCommandArgs (src/cli/args.ts) parses the usual arguments itself (simpleParse) and leaves the rest to node's
// parseArgs: wherever it answers, it must answer exactly as parseArgs does, and it must leave to parseArgs everything
// parseArgs refuses (so that the usage error is parseArgs's). Checked on every argument list of up to four tokens
// drawn from a set that covers long and short options, values, repeats, `=`, `--`, dashes and unknown options.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { expect, it } from 'vitest';
import { parseCommandArgs, simpleParse } from '../../src/cli/args.js';
import { isSpillwayError } from '../../src/errors.js';

const options: ParseArgsConfig['options'] & object = {
  file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
  jobs: { type: 'string', short: 'j' },
  'dry-run': { type: 'boolean', short: 'n', default: false },
  force: { type: 'boolean', default: false },
  set: { type: 'string', multiple: true, default: [] },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
};

const tokens = ['--json', '--file', '-f', 'p.yaml', '-n', '--set', 'a.b=1', 'stage', '--jobs', '2', '-1', '--file=x', '--', '-nf', '-', '--nope', '-z', '--constructor', '--__proto__', '-h'];

function* lists(n: number): Generator<string[]> {
  yield [];
  if (n === 0) return;
  for (const rest of lists(n - 1)) for (const t of tokens) if (rest.length === n - 1) yield [...rest, t];
}

it('answers as parseArgs does, or leaves it to parseArgs', () => {
  let answered = 0;
  let checked = 0;
  for (let n = 0; n <= 4; n++) {
    for (const argv of lists(n)) {
      if (argv.length !== n) continue;
      checked += 1;
      let expected: unknown;
      try {
        const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
        expected = { values: { ...r.values }, positionals: r.positionals };
      } catch {
        expected = 'refused';
      }
      const quick = simpleParse(argv, options);
      if (quick === undefined) continue;
      answered += 1;
      expect({ argv, got: { values: { ...quick.values }, positionals: quick.positionals } }).toEqual({ argv, got: expected });
    }
  }
  // the common lists are answered here (not all left to parseArgs)
  expect(checked).toBe(1 + 20 + 400 + 8000 + 160000);
  expect(answered).toBeGreaterThan(5000);
  expect(simpleParse(['--json'], options)).toBeDefined();
  expect(simpleParse(['stage', '-f', 'p.yaml', '--set', 'a=1', '--set', 'b=2'], options)?.values.set).toEqual(['a=1', 'b=2']);
});

it('parseCommandArgs still turns what parseArgs refuses into a usage error', () => {
  for (const argv of [['--nope'], ['--file'], ['--json=1'], ['-f', '--json']]) {
    let error: unknown;
    try {
      parseCommandArgs('run', argv, { file: { type: 'string', short: 'f' }, json: { type: 'boolean' } }, 'help text');
    } catch (e) {
      error = e;
    }
    expect(isSpillwayError(error) && error.kind === 'usage').toBe(true);
  }
  expect(parseCommandArgs('run', ['-f', 'x.yaml', 'a'], { file: { type: 'string', short: 'f' } }, 'help').values.file).toBe('x.yaml');
});
