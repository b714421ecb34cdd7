// A byte-level scanner for the simple case of CSV: lines of comma-separated fields with no quote character and no
// carriage return other than a CRLF line ending. It splits lines into field offsets over the Buffer (no string per
// field) and parses plain decimal numbers straight from the bytes. On the first line that is not simple it stops and
// hands the rest of the bytes (from that line's start) back, so that the full RFC 4180 parser (csv-parse) reads the rest
// exactly as it would have read it from the beginning: the readers in csv.ts and the fit command build on it.

import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { decimalValue } from './decimal.js';

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;
const MAX_LINE = 1 << 24;

/**
 * The fields of one line: field i spans bytes [starts[i], ends[i]) of `buf`. The object and its arrays are reused from
 * line to line: copy what you keep.
 */
export interface ScannedLine {
  buf: Buffer;
  starts: Int32Array;
  ends: Int32Array;
  count: number;
  /** the file line (from 1) */
  line: number;
  /** the byte offset just past this line's break, counted from the start of the (decompressed) stream */
  end: number;
  /**
   * numbers[i], for each field i marked in the scanner's `numeric` mask: plainDecimal of the field's bytes (NaN when
   * it is not a plain decimal), parsed in the same pass that finds the commas. Unmarked fields: not set.
   */
  numbers: Float64Array;
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
  private readonly scanned: ScannedLine = {
    buf: Buffer.alloc(0),
    starts: new Int32Array(64),
    ends: new Int32Array(64),
    count: 0,
    line: 0,
    end: 0,
    numbers: new Float64Array(64),
  };
  handedOver: Handover | undefined;
  /** the buffer being scanned has no quote and no carriage return */
  private plain = false;
  /**
   * Fields to parse as numbers while scanning (1 at the field's index; may be set or changed between lines, e.g. by
   * onLine once it has read the header): their values are in ScannedLine.numbers, without a second look at the bytes.
   */
  numeric: Uint8Array | undefined;

  constructor(private readonly onLine: (line: ScannedLine) => void) {}

  /** Scans the complete lines of `chunk` (and the last, unterminated one when `final`); returns a Handover once not simple. */
  push(chunk: Buffer, final = false): Handover | undefined {
    if (this.handedOver) throw new Error('LineScanner: push after hand-over');
    const carry = this.carry;
    if (!carry) return this.scan(chunk, final);
    this.carry = undefined;
    const lf = this.started ? chunk.indexOf(LF) : -1;
    if (lf < 0) return this.scan(chunk.length ? Buffer.concat([carry, chunk]) : carry, final);
    // the line cut at the end of the last chunk is joined on its own, so that the chunk itself is scanned in place
    // rather than copied after it
    const head = Buffer.concat([carry, chunk.subarray(0, lf + 1)]);
    const handover = this.scan(head, false);
    if (handover) {
      handover.rest = Buffer.concat([handover.rest, chunk.subarray(lf + 1)]);
      return handover;
    }
    const left = this.carry as Buffer | undefined; // none: head ends with a line break
    this.carry = undefined;
    return this.scan(left ? Buffer.concat([left, chunk.subarray(lf + 1)]) : chunk.subarray(lf + 1), final);
  }

  private scan(data: Buffer, final: boolean): Handover | undefined {
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
    const scanned = this.scanned;
    scanned.buf = data;
    // no quote and no carriage return anywhere in this buffer (two memchr-fast searches): the fields are then split at
    // commas without looking for either byte by byte
    this.plain = data.indexOf(QUOTE, pos) < 0 && data.indexOf(CR, pos) < 0;
    while (pos < n) {
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
      const count = this.fields(data, pos, contentEnd);
      if (count < 0) return this.handOver(data, pos);
      scanned.count = count;
      scanned.line = this.line;
      scanned.end = this.base + next;
      this.onLine(scanned);
      this.line++;
      pos = next;
    }
    if (pos < n) this.carry = Buffer.from(data.subarray(pos));
    this.base += pos;
    return undefined;
  }

  /**
   * Splits bytes [pos, contentEnd) into fields (offsets into the scanned line's arrays) and parses the fields marked
   * numeric on the way; returns the number of fields, or -1 at a quote or a carriage return (not the simple case).
   */
  private fields(data: Buffer, pos: number, contentEnd: number): number {
    const scanned = this.scanned;
    let { starts, ends, numbers } = scanned;
    const numeric = this.numeric;
    const marked = numeric === undefined ? 0 : numeric.length;
    let count = 0;
    let i = pos;
    for (;;) {
      if (count + 1 >= starts.length) {
        this.grow();
        ({ starts, ends, numbers } = scanned);
      }
      const fieldStart = i;
      if (count < marked && numeric![count] === 1) {
        // plainDecimal, inline: [sign] digits [. digits], nothing else
        let negative = false;
        if (i < contentEnd) {
          const c = data[i];
          if (c === 45) {
            negative = true;
            i++;
          } else if (c === 43) i++;
        }
        let mantissa = 0;
        const first = i;
        for (; i < contentEnd; i++) {
          const d = data[i] - 48;
          if (d < 0 || d > 9) break;
          mantissa = mantissa * 10 + d;
        }
        let digits = i - first;
        let fraction = 0;
        if (i < contentEnd && data[i] === 46) {
          const point = ++i;
          for (; i < contentEnd; i++) {
            const d = data[i] - 48;
            if (d < 0 || d > 9) break;
            mantissa = mantissa * 10 + d;
          }
          fraction = i - point;
          digits += fraction;
        }
        if (digits > 0 && (i === contentEnd || data[i] === COMMA)) {
          numbers[count] = decimalValue(data, fieldStart, i, mantissa, digits, fraction, negative);
          starts[count] = fieldStart;
          ends[count] = i;
          count++;
          if (i === contentEnd) return count;
          i++;
          continue;
        }
        numbers[count] = NaN; // not a plain decimal: read on to the comma like any field
      }
      if (this.plain) {
        while (i < contentEnd && data[i] !== COMMA) i++;
      } else {
        for (; i < contentEnd; i++) {
          const c = data[i];
          if (c === COMMA) break;
          if (c === QUOTE || c === CR) return -1;
        }
      }
      starts[count] = fieldStart;
      ends[count] = i;
      count++;
      if (i === contentEnd) return count;
      i++;
    }
  }

  private grow(): void {
    const scanned = this.scanned;
    const size = scanned.starts.length * 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    const numbers = new Float64Array(size);
    starts.set(scanned.starts);
    ends.set(scanned.ends);
    numbers.set(scanned.numbers);
    scanned.starts = starts;
    scanned.ends = ends;
    scanned.numbers = numbers;
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

/**
 * The number written in bytes [start, end) of `buf` when they are a plain decimal — an optional sign, digits, an
 * optional point and digits, at least one digit, nothing else (no space, no exponent) — or NaN when they are not (the
 * caller then reads the text its own way). Exactly `Number(text)` (see decimalValue).
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
  return decimalValue(buf, start, end, mantissa, digits, fraction, negative);
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

