// A byte-level scanner for the simple case of CSV: lines of comma-separated fields with no quote character and no
// carriage return other than a CRLF line ending. It splits lines into field offsets over the Buffer (no string per
// field) and parses plain decimal numbers straight from the bytes. On the first line that is not simple it stops and
// hands the rest of the bytes (from that line's start) back, so that the full RFC 4180 parser (csv-parse) reads the rest
// exactly as it would have read it from the beginning: the readers in csv.ts and the fit command build on it.

import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;
const MAX_LINE = 1 << 24;

/** The fields of one line: field i spans bytes [starts[i], ends[i]) of `buf`. */
export interface ScannedLine {
  buf: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  count: number;
  /** the file line (from 1) */
  line: number;
  /** the byte offset just past this line's break, counted from the start of the (decompressed) stream */
  end: number;
}

/** Where the simple case ended: the full parser takes over at `line` with `rest` (which starts at that line). */
export interface Handover {
  rest: Buffer;
  /** the line the rest starts on (from 1) */
  line: number;
  /** byte offset of `rest` in the stream */
  offset: number;
  /** the line break seen so far (csv-parse would have detected it at the first one), or undefined */
  newline: '\n' | '\r\n' | undefined;
}

export class LineScanner {
  private carry: Buffer | undefined;
  /** byte offset (in the stream) of the first byte of the buffer being scanned */
  private base = 0;
  private line = 1;
  private mode: 0 | 1 | 2 = 0; // 0 not known yet, 1 LF, 2 CRLF
  private started = false;
  private starts: Int32Array = new Int32Array(64);
  private ends: Int32Array = new Int32Array(64);
  handedOver: Handover | undefined;

  constructor(private readonly onLine: (line: ScannedLine) => void) {}

  /** Scans the complete lines of `chunk` (and the last, unterminated one when `final`); returns a Handover once not simple. */
  push(chunk: Buffer, final = false): Handover | undefined {
    if (this.handedOver) throw new Error('LineScanner: push after hand-over');
    const data = this.carry ? (chunk.length ? Buffer.concat([this.carry, chunk]) : this.carry) : chunk;
    this.carry = undefined;
    let pos = 0;
    if (!this.started) {
      if (data.length < 3 && !final) {
        this.carry = Buffer.from(data);
        return undefined;
      }
      this.started = true;
      // a byte-order mark: skipped (a hand-over on line 1 passes it on, and csv-parse skips it there)
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) pos = 3;
    }
    const n = data.length;
    while (pos < n || (final && pos < n)) {
      let nl = data.indexOf(LF, pos);
      let contentEnd: number;
      let next: number;
      if (nl < 0) {
        // a line longer than 16 MiB is not the simple case (and carrying it from chunk to chunk would copy it again
        // each time): csv-parse reads it
        if (!final && n - pos > MAX_LINE) return this.handOver(data, pos);
        if (!final) break;
        nl = n;
        contentEnd = n;
        next = n;
        if (this.mode === 2 && contentEnd > pos) return this.handOver(data, pos); // CRLF file ending in a line without one
      } else {
        next = nl + 1;
        if (this.mode === 0) this.mode = nl > pos && data[nl - 1] === CR ? 2 : 1;
        if (this.mode === 2) {
          if (nl === pos || data[nl - 1] !== CR) return this.handOver(data, pos); // a lone LF in a CRLF file
          contentEnd = nl - 1;
        } else contentEnd = nl;
      }
      if (contentEnd === pos) {
        // an empty line: skipped, as csv-parse's skip_empty_lines does
        this.line++;
        pos = next;
        continue;
      }
      let count = 0;
      let fieldStart = pos;
      let starts: Int32Array = this.starts;
      let ends: Int32Array = this.ends;
      for (let i = pos; i < contentEnd; i++) {
        const c = data[i];
        if (c === COMMA) {
          if (count + 1 >= starts.length) ({ starts, ends } = this.grow());
          starts[count] = fieldStart;
          ends[count] = i;
          count++;
          fieldStart = i + 1;
        } else if (c === QUOTE || c === CR) {
          return this.handOver(data, pos);
        }
      }
      if (count + 1 >= starts.length) ({ starts, ends } = this.grow());
      starts[count] = fieldStart;
      ends[count] = contentEnd;
      count++;
      this.onLine({ buf: data, starts, ends, count, line: this.line, end: this.base + next });
      this.line++;
      pos = next;
    }
    if (pos < n) this.carry = Buffer.from(data.subarray(pos));
    this.base += pos;
    return undefined;
  }

  private grow(): { starts: Int32Array; ends: Int32Array } {
    const starts = new Int32Array(this.starts.length * 2);
    const ends = new Int32Array(this.ends.length * 2);
    starts.set(this.starts);
    ends.set(this.ends);
    this.starts = starts;
    this.ends = ends;
    return { starts, ends };
  }

  private handOver(data: Buffer, pos: number): Handover {
    // nothing read yet: the whole input from its first byte (with its byte-order mark, if any)
    const from = this.line === 1 ? 0 : pos;
    this.handedOver = {
      rest: data.subarray(from),
      line: this.line,
      offset: this.base + from,
      newline: this.mode === 1 ? '\n' : this.mode === 2 ? '\r\n' : undefined,
    };
    return this.handedOver;
  }
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The number written in bytes [start, end) of `buf` when they are a plain decimal — an optional sign, digits, an
 * optional point and digits, at least one digit, nothing else (no space, no exponent) — or NaN when they are not (the
 * caller then reads the text its own way). Exactly `Number(text)`: with at most 15 significant digits the mantissa m
 * and 10^k are exact doubles and m / 10^k is correctly rounded (Clinger's fast path); longer numbers go to Number().
 */
export function plainDecimal(buf: Buffer, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (i < end) {
    const c = buf[i];
    if (c === 45) {
      negative = true;
      i++;
    } else if (c === 43) i++;
  }
  let mantissa = 0;
  const first = i;
  for (; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
  }
  let digits = i - first;
  let fraction = 0;
  if (i < end && buf[i] === 46) {
    const point = ++i;
    for (; i < end; i++) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) return NaN;
      mantissa = mantissa * 10 + d;
    }
    fraction = i - point;
    digits += fraction;
  }
  if (i !== end || digits === 0) return NaN;
  // leading zeros count here too: a few more numbers than needed go to Number(), all exactly
  if (digits > 15 || fraction > 22) return Number(buf.toString('latin1', start, end));
  const value = fraction > 0 ? mantissa / POW10[fraction] : mantissa;
  return negative ? -value : value;
}

/**
 * Passes bytes through unchanged and remembers the offset of the first byte that is not valid UTF-8 (csv-parse would
 * decode it as U+FFFD without a word). Checked a chunk at a time with node's isUtf8; a multi-byte character split
 * between chunks is carried over to the next one. The offset counts bytes of the (decompressed) stream from 0.
 */
export class Utf8Check extends Transform {
  /** offset of the first invalid byte, once one is seen */
  invalidAt: number | undefined;
  private offset = 0;
  private carry: Buffer | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.invalidAt === undefined) this.check(chunk);
    this.offset += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    // a file that ends inside a multi-byte character
    if (this.invalidAt === undefined && this.carry) this.invalidAt = this.offset - this.carry.length;
    callback();
  }

  private check(chunk: Buffer): void {
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const start = this.offset - (this.carry?.length ?? 0);
    const cut = completeLength(data);
    if (!isUtf8(data.subarray(0, cut))) this.invalidAt = start + firstInvalidByte(data.subarray(0, cut));
    this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : undefined;
  }
}

/** The length of the longest prefix of `data` that does not end inside a multi-byte UTF-8 character. */
function completeLength(data: Buffer): number {
  const n = data.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const b = data[i];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead byte
    if (b < 0xc0) return n; // ASCII
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return n - i < need ? i : n;
  }
  return n;
}

/** The offset of the first invalid UTF-8 sequence in `data` (which holds one); only called on the error path. */
function firstInvalidByte(data: Buffer): number {
  // the decoder replaces each invalid sequence by U+FFFD and decodes everything before it exactly, so the byte length
  // of the text before a U+FFFD is the offset of what it replaced, unless the file holds a real U+FFFD (EF BF BD) there
  const text = data.toString('utf8');
  for (let at = text.indexOf('\ufffd'); at >= 0; at = text.indexOf('\ufffd', at + 1)) {
    const offset = Buffer.byteLength(text.slice(0, at));
    if (!(data[offset] === 0xef && data[offset + 1] === 0xbf && data[offset + 2] === 0xbd)) return offset;
  }
  return 0;
}

