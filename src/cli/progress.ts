// Run progress: a live table on a terminal (stage states and timings, redrawn in place), plain lines otherwise.
import type { RunEvent, StageReport } from '../engine/runner.js';
import { colorEnabled, formatDuration, paint } from './args.js';

type Row = { stage: string; state: 'waiting' | 'checking' | 'running' | StageReport['status']; started?: number; duration?: number; reason?: string };

export interface Progress {
  onEvent(event: RunEvent): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, options: { live?: boolean } = {}): Progress {
  const color = paint(colorEnabled(stream));
  const live = options.live ?? (stream.isTTY === true && process.env.TERM !== 'dumb');
  const rows = new Map<string, Row>();
  let width = 0;
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;

  const symbol = (row: Row): string => {
    switch (row.state) {
      case 'ran':
        return color.green('✔ ran    ');
      case 'cached':
        return color.dim('· cached ');
      case 'failed':
        return color.red('✘ failed ');
      case 'skipped':
        return color.yellow('- skipped');
      case 'would-run':
        return color.yellow('» would run');
      case 'running':
        return color.cyan('▶ running');
      default:
        return color.dim('  waiting');
    }
  };
  const line = (row: Row): string => {
    const time = row.duration !== undefined ? formatDuration(row.duration) : row.started !== undefined ? formatDuration(performance.now() - row.started) : '';
    const reason = row.reason && row.state !== 'cached' ? `  ${color.dim(row.reason)}` : '';
    const text = `${row.stage.padEnd(width)}  ${symbol(row)}  ${time.padStart(8)}${reason}`;
    const columns = stream.columns ?? 120;
    return live && text.length > columns + 20 ? text.slice(0, columns + 19) : text;
  };
  const clear = () => {
    if (drawn > 0) stream.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (!live) return;
    clear();
    const text = [...rows.values()].map(line).join('\n');
    stream.write(`${text}\n`);
    drawn = rows.size;
  };

  return {
    onEvent(event) {
      switch (event.type) {
        case 'plan':
          width = Math.max(0, ...event.stages.map((s) => s.length));
          for (const s of event.stages) rows.set(s, { stage: s, state: 'waiting' });
          if (live) {
            draw();
            timer = setInterval(draw, 100);
            timer.unref();
          }
          break;
        case 'stage-start': {
          const row = rows.get(event.stage);
          if (row) Object.assign(row, { state: 'running', started: performance.now(), reason: event.reason });
          if (live) draw();
          else stream.write(`${event.stage}: running (${event.reason})\n`);
          break;
        }
        case 'stage-end': {
          const r = event.report;
          const row = rows.get(r.stage) ?? { stage: r.stage, state: r.status };
          Object.assign(row, { state: r.status, duration: r.duration_ms, reason: r.reason });
          rows.set(r.stage, row);
          if (live) draw();
          else stream.write(`${line(row)}\n`);
          break;
        }
        case 'log':
          if (live) clear();
          stream.write(`${color.dim(`[${event.stage}]`)} ${event.message}\n`);
          if (live) draw();
          break;
        case 'restore':
          if (live) clear();
          stream.write(`${color.dim(`[${event.stage}]`)} restored ${event.path} from the store\n`);
          if (live) draw();
          break;
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      if (live) draw();
    },
  };
}
