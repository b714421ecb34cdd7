// The SLURM executor's settings file and the mapping of a stage's resources to sbatch flags (no cluster needed).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpillwayError } from '../../src/errors.js';
import { DEFAULT_CONFIG, loadSlurmConfig, sbatchFlags, slurmConfigFrom, slurmMemory, slurmTime, stageBase } from '../../src/engine/executors/slurm-config.js';

function thrown(fn: () => unknown): SpillwayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SpillwayError) return error;
    throw error;
  }
  throw new Error('expected a SpillwayError');
}

describe('spillway.config.yaml, slurm section', () => {
  it('reads every setting, with units on durations', () => {
    const config = slurmConfigFrom(
      {
        slurm: {
          partition: 'short',
          account: 'econ-lab',
          qos: 'normal',
          max_jobs: 40,
          array_throttle: 10,
          array_max: 500,
          poll_interval: '5s',
          batch_window: '250ms',
          result_wait: '1m',
          jobs_dir: '/scratch/me/spillway-jobs',
          node: '/opt/node20/bin/node',
          setup: ['module load nodejs/20'],
          sbatch_flags: '--constraint=intel',
        },
      },
      'spillway.config.yaml',
    );
    expect(config).toEqual({
      partition: 'short',
      account: 'econ-lab',
      qos: 'normal',
      maxJobs: 40,
      arrayThrottle: 10,
      arrayMax: 500,
      pollIntervalMs: 5000,
      batchWindowMs: 250,
      resultWaitMs: 60_000,
      jobsDir: '/scratch/me/spillway-jobs',
      node: '/opt/node20/bin/node',
      setup: ['module load nodejs/20'],
      sbatchFlags: ['--constraint=intel'],
    });
  });

  it('is all defaults without the file or without a slurm section', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-slurmcfg-'));
    try {
      expect(await loadSlurmConfig(dir)).toEqual(DEFAULT_CONFIG);
      writeFileSync(join(dir, 'spillway.config.yaml'), 'other: 1\n');
      expect(await loadSlurmConfig(dir)).toEqual(DEFAULT_CONFIG);
      writeFileSync(join(dir, 'spillway.config.yaml'), 'slurm:\n  partition: gpu\n  poll_interval: 3\n');
      expect(await loadSlurmConfig(dir)).toMatchObject({ partition: 'gpu', pollIntervalMs: 3000, maxJobs: 100 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the file, the key and what was expected on bad settings', async () => {
    const unknown = thrown(() => slurmConfigFrom({ slurm: { partiton: 'x' } }, 'spillway.config.yaml'));
    expect(unknown.kind).toBe('invalidPipeline');
    expect(unknown.format()).toContain('spillway.config.yaml at /slurm/partiton: unknown setting slurm.partiton');
    expect(unknown.format()).toContain('expected: one of partition, account');
    expect(thrown(() => slurmConfigFrom({ slurm: { max_jobs: 0 } }, 'c.yaml')).format()).toContain('slurm.max_jobs must be a whole number of at least 1, got 0');
    expect(thrown(() => slurmConfigFrom({ slurm: { poll_interval: 'often' } }, 'c.yaml')).details.expected).toContain('2s');
    const dir = mkdtempSync(join(tmpdir(), 'spillway-slurmcfg-'));
    try {
      writeFileSync(join(dir, 'spillway.config.yaml'), 'slurm:\n  partition: [a\n');
      const e = await loadSlurmConfig(dir).then(
        () => undefined,
        (error: SpillwayError) => error,
      );
      expect(e?.details.file).toBe('spillway.config.yaml');
      expect(e?.details.line).toBeGreaterThanOrEqual(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resources → sbatch flags', () => {
  it('maps cpus, memory, time and extra flags after the config defaults', () => {
    const config = { ...DEFAULT_CONFIG, partition: 'short', account: 'econ', qos: 'low', sbatchFlags: ['--constraint=intel'] };
    expect(sbatchFlags(config, { stage: 'fit', resources: { cpus: 4, memory: '8G', time: '2h', extra: ['--gres=gpu:1'] } })).toEqual([
      '--partition=short',
      '--account=econ',
      '--qos=low',
      '--cpus-per-task=4',
      '--mem=8192M',
      '--time=120',
      '--constraint=intel',
      '--gres=gpu:1',
    ]);
    expect(sbatchFlags(DEFAULT_CONFIG, { stage: 'fit' })).toEqual([]);
    // the engine's own timeout becomes the scheduler's limit, rounded up to minutes, plus one
    expect(sbatchFlags(DEFAULT_CONFIG, { stage: 'fit', timeoutMs: 90_000 })).toEqual(['--time=3']);
  });

  it('memory in SLURM megabytes', () => {
    expect(slurmMemory('2G', 's')).toBe('2048M');
    expect(slurmMemory('1.5GB', 's')).toBe('1536M');
    expect(slurmMemory('500M', 's')).toBe('500M');
    expect(slurmMemory('512MiB', 's')).toBe('512M');
    expect(slurmMemory('1T', 's')).toBe('1048576M');
    expect(slurmMemory('100k', 's')).toBe('1M');
    expect(slurmMemory(300, 's')).toBe('300M');
    expect(thrown(() => slurmMemory('lots', 'fit')).message).toBe('stage "fit": resources.memory "lots" is not an amount of memory');
  });

  it('time limits in minutes, or SLURM\'s own forms unchanged', () => {
    expect(slurmTime('90s', 's')).toBe('2');
    expect(slurmTime('30m', 's')).toBe('30');
    expect(slurmTime('2h', 's')).toBe('120');
    expect(slurmTime('1d', 's')).toBe('1440');
    expect(slurmTime(45, 's')).toBe('45');
    expect(slurmTime('00:30:00', 's')).toBe('00:30:00');
    expect(slurmTime('1-12:00:00', 's')).toBe('1-12:00:00');
    expect(slurmTime('15', 's')).toBe('15');
    expect(thrown(() => slurmTime('0', 'fit')).message).toContain('resources.time "0" is not a time limit');
    expect(thrown(() => slurmTime('soon', 'fit')).details.expected).toContain('HH:MM:SS');
    expect(thrown(() => sbatchFlags(DEFAULT_CONFIG, { stage: 'fit', resources: { cpus: 1.5 } })).message).toContain('resources.cpus must be a whole number');
  });

  it('instances of a stage share the array of their stage', () => {
    expect(stageBase('fit@k=2')).toBe('fit');
    expect(stageBase('fit[3]')).toBe('fit');
    expect(stageBase('fit')).toBe('fit');
  });
});
