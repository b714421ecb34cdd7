// The accounting path of the SLURM executor: sacct's rows for jobs squeue no longer knows. The parser is fed sacct's
// own output format (sacct(1) of SLURM 22.05: --parsable2 is '|' delimited without a '|' at the end, --parsable with
// one; a cancelled job's State is followed by who cancelled it; JOB STATE CODES; array tasks as <job>_<task> and a
// pending remainder as <job>_[range]); the test cluster keeps no accounting (AccountingStorageType=
// accounting_storage/none), so the real-cluster tests run the no-accounting path, checked here.
import { describe, expect, it } from 'vitest';
import { parseSacct, sacctStates } from '../../src/engine/executors/slurm.js';
import { ensureCluster } from './helpers.js';

describe('parsing sacct --parsable2 output', () => {
  it('one row per job or array task, with the state word, the reason and the node', () => {
    const out = [
      '4127|COMPLETED|None|node017',
      '4128_0|OUT_OF_MEMORY|None|node003',
      '4128_1|TIMEOUT|None|node004',
      '4129|CANCELLED by 1000|None|node009',
      '4130|NODE_FAIL|None|node011',
      '4131|FAILED|NonZeroExitCode|node012',
      '4132|PENDING|QOSMaxJobsPerUserLimit|None assigned',
      '',
    ].join('\n');
    expect(parseSacct(out)).toEqual([
      { id: '4127', state: 'COMPLETED', node: 'node017' },
      { id: '4128_0', state: 'OUT_OF_MEMORY', node: 'node003' },
      { id: '4128_1', state: 'TIMEOUT', node: 'node004' },
      { id: '4129', state: 'CANCELLED', node: 'node009' },
      { id: '4130', state: 'NODE_FAIL', node: 'node011' },
      { id: '4131', state: 'FAILED', reason: 'NonZeroExitCode', node: 'node012' },
      { id: '4132', state: 'PENDING', reason: 'QOSMaxJobsPerUserLimit' },
    ]);
  });

  it("a pending array remainder gives one row per task; job steps and --parsable's trailing '|' are handled", () => {
    const out = [
      '5000_0|COMPLETED|None|node001|',
      '5000_0.batch|COMPLETED||node001|',
      '5000_0.extern|COMPLETED||node001|',
      '5000_1|RUNNING|None|node002|',
      '5000_[2-4,7%2]|PENDING|JobArrayTaskLimit|None assigned|',
      '5001.0|CANCELLED by 0||node005|',
    ].join('\n');
    expect(parseSacct(out)).toEqual([
      { id: '5000_0', state: 'COMPLETED', node: 'node001' },
      { id: '5000_1', state: 'RUNNING', node: 'node002' },
      ...[2, 3, 4, 7].map((t) => ({ id: `5000_${t}`, state: 'PENDING', reason: 'JobArrayTaskLimit' })),
    ]);
  });

  it('nothing for empty output or lines that are not job rows', () => {
    expect(parseSacct('')).toEqual([]);
    expect(parseSacct('JobID|State|Reason|NodeList\n')).toEqual([]);
  });
});

const unavailable = ensureCluster({ start: false });

describe.skipIf(unavailable !== undefined)('sacct on the test cluster', () => {
  it('keeps no accounting: the executor is told so and relies on squeue and the result files', async () => {
    expect(await sacctStates(['1'])).toBe('unavailable');
  });
});
