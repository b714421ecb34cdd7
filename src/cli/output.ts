// Output without process.stdout/process.stderr: creating either stream loads node's stream machinery (and, for a
// pipe, net), about 5 ms, more than a no-op `spillway run --json` spends on its own work. So what the fast commands
// print (a run's or a status's JSON, --version, a run's lines on a pipe or file) is written to the file descriptor
// directly, synchronously, as node itself writes to pipes and files on Linux. A descriptor that is non-blocking
// (EAGAIN) hands the rest to the stream; a closed stdout (`spillway status --json | head -c 10`) ends the command
// quietly, as main's EPIPE handler does for the stream.
import { fstatSync, statSync, writeSync } from 'node:fs';

/** Set by `spillway run`: whether it ran, restored and parsed nothing (bin/spillway.js keeps the code cache of such a run), and whether its report came from the no-op record. */
export const runOutcome = { didNothing: false, fromRecord: false };

export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

function writeFd(fd: 1 | 2, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        (fd === 1 ? process.stdout : process.stderr).write(bytes.subarray(done));
        return;
      }
      if (code === 'EPIPE' && fd === 1) process.exit(0);
      if (code === 'EPIPE') return;
      throw error;
    }
  }
}

/** Writes `text` to standard output (see above). */
export function writeStdout(text: string): void {
  writeFd(1, text);
}

/**
 * Standard error as something to write lines to: the stream itself on a terminal (colors, a live progress table, the
 * width), a synchronous writer on a pipe, a file or /dev/null (`2>/dev/null` is a character device, like a terminal,
 * but told apart by its device number without node:tty, which would load the streams this module avoids).
 */
export function stderrSink(): TextSink {
  let plain = false;
  try {
    const st = fstatSync(2);
    plain = !st.isCharacterDevice() || isDevNull(st.rdev);
  } catch {
    /* closed: let the stream deal with it */
  }
  return plain ? { isTTY: false, write: (text: string) => writeFd(2, text) } : process.stderr;
}

function isDevNull(rdev: number): boolean {
  try {
    return statSync('/dev/null').rdev === rdev;
  } catch {
    return false; // no /dev/null (Windows): the stream decides
  }
}

/**
 * Calls `setup` with process.stdout when something first uses it (at once if node's lazy getter is not there):
 * listeners are added without creating the stream on a path that never uses it.
 */
export function onStdout(setup: (stream: NodeJS.WriteStream) => void): void {
  const lazy = Object.getOwnPropertyDescriptor(process, 'stdout');
  if (lazy?.get === undefined || lazy.configurable !== true) {
    setup(process.stdout);
    return;
  }
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: lazy.enumerable,
    get() {
      Object.defineProperty(process, 'stdout', lazy);
      const stream = process.stdout;
      setup(stream);
      return stream;
    },
  });
}
