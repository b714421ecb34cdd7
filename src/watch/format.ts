// One compact block per watch run: what changed, what ran, what was cached, timings, errors.
import type { RunSummary, WatchEvent } from './session.js';

export interface Painter {
  red(s: string): string;
  green(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const plain: Painter = { red: (s) => s, green: (s) => s, dim: (s) => s, bold: (s) => s };

export function formatWatchEvent(event: WatchEvent, paint: Painter = plain): string {
  if (event.event === 'ready') {
    const globs = event.globs.length ? ` and ${event.globs.length} glob(s) (${event.globs.join(', ')})` : '';
    return paint.dim(`watching ${event.files} file(s)${globs} in ${event.directories} director${event.directories === 1 ? 'y' : 'ies'}; Ctrl-C to stop`);
  }
  // text mode prints one block per run, when it ends; the start is for --json consumers
  if (event.event === 'start') return '';
  if (event.event === 'stopped') return paint.dim(`stopped watching after ${event.runs} run(s)`);
  return formatRun(event, paint);
}

function formatRun(run: RunSummary, paint: Painter): string {
  const time = run.started.slice(11, 19);
  const changed = run.trigger === 'start' ? 'first run' : `changed: ${list(run.changed)}`;
  const lines = [paint.bold(`── run ${run.run} · ${time} · ${changed}`)];
  if (run.error) {
    const text = String(run.error.text ?? run.error.message ?? 'error');
    lines.push(...text.split('\n').map((l, i) => `   ${i === 0 ? paint.red('✗ ') : '  '}${l}`));
    lines.push(paint.dim('   nothing ran; still watching: fix the file and save'));
    return lines.join('\n');
  }
  const durationOf = new Map(run.stages.map((s) => [s.stage, s.duration_ms]));
  if (run.ran.length) lines.push(`   ran     ${run.ran.map((s) => `${s} (${ms(durationOf.get(s) ?? 0)})`).join(', ')}`);
  if (run.cached.length) lines.push(paint.dim(`   cached  ${run.cached.join(', ')}`));
  for (const f of run.failed) {
    const [first, ...rest] = f.error.split('\n');
    lines.push(paint.red(`   failed  ${f.stage}: ${first}`));
    for (const line of rest.slice(0, 8)) lines.push(`           ${line}`);
    if (rest.length > 8) lines.push(paint.dim(`           … ${rest.length - 8} more line(s)`));
  }
  if (run.skipped.length) lines.push(paint.dim(`   skipped ${run.skipped.join(', ')}`));
  if (run.interrupted) lines.push(paint.dim(`   interrupted after ${ms(run.duration_ms)}`));
  else if (run.ok) lines.push(paint.green(`   ✓ ${run.ran.length ? `done in ${ms(run.duration_ms)}` : `up to date (${ms(run.duration_ms)})`}`));
  else lines.push(paint.red(`   ✗ failed after ${ms(run.duration_ms)}; still watching: fix and save to re-run`));
  return lines.join('\n');
}

function list(paths: string[]): string {
  if (paths.length === 0) return '(nothing)';
  return paths.length <= 5 ? paths.join(', ') : `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more`;
}

function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}
