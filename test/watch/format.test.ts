import { describe, expect, it } from 'vitest';
import { formatWatchEvent } from '../../src/watch/format.js';
import type { RunSummary } from '../../src/watch/session.js';

const base: RunSummary = {
  event: 'run', run: 4, trigger: 'change', changed: ['pipeline.yaml'], ok: true, started: '2026-11-28T10:44:22.123Z', duration_ms: 4700,
  ran: ['total', 'report'], cached: ['count'], failed: [], skipped: [],
  stages: [
    { stage: 'count', status: 'cached', key: 'k1', duration_ms: 2, reason: 'up to date' },
    { stage: 'total', status: 'ran', key: 'k2', duration_ms: 3400, reason: 'param total.offset: 1 → 3' },
    { stage: 'report', status: 'ran', key: 'k3', duration_ms: 445, reason: 'input sum changed' },
  ],
};

describe('watch output', () => {
  it('prints one compact block per run: what changed, ran (with timings), cached, outcome', () => {
    expect(formatWatchEvent(base)).toBe(
      ['── run 4 · 10:44:22 · changed: pipeline.yaml', '   ran     total (3.4 s), report (445 ms)', '   cached  count', '   ✓ done in 4.7 s'].join('\n'),
    );
  });

  it('shows a failing stage with its first error lines and what was skipped', () => {
    const text = formatWatchEvent({ ...base, ok: false, ran: [], failed: [{ stage: 'total', error: 'Error: boom\n    at default (stages/total.ts:1:30)' }], skipped: ['report'], duration_ms: 1500 });
    expect(text.split('\n')).toEqual([
      '── run 4 · 10:44:22 · changed: pipeline.yaml',
      '   cached  count',
      '   failed  total: Error: boom',
      '               at default (stages/total.ts:1:30)',
      '   skipped report',
      '   ✗ failed after 1.5 s; still watching: fix and save to re-run',
    ]);
  });

  it('shows an invalid pipeline file with its location, and shortens long change lists', () => {
    const changed = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const text = formatWatchEvent({ ...base, changed, ran: [], cached: [], stages: [], error: { text: 'pipeline.yaml:2:1: YAML syntax error\n  hint: fix it' } });
    expect(text.split('\n')).toEqual([
      '── run 4 · 10:44:22 · changed: a, b, c, d, e and 2 more',
      '   ✗ pipeline.yaml:2:1: YAML syntax error',
      '       hint: fix it',
      '   nothing ran; still watching: fix the file and save',
    ]);
    expect(formatWatchEvent({ event: 'start', run: 1, trigger: 'start', changed: [] })).toBe('');
  });
});
