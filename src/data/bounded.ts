// Fixed-size structures that let ingest stream record files of any length in bounded memory:
// a Bloom filter over hashed ids (duplicate detection, confirmed exactly in a second pass over the few candidates) and
// Misra–Gries heavy-hitter counters (the outlier rule's applicants, confirmed exactly in a second pass).
import { SpillwayError } from '../errors.js';

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a (32 bits) of bytes [start, end) of `buf`: to look up strings by their UTF-8 bytes without making them. */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

/** hashBytes of the UTF-8 bytes of each string. */
export function byteHashes(keys: Iterable<string>): Set<number> {
  const hashes = new Set<number>();
  for (const key of keys) {
    const bytes = Buffer.from(key, 'utf8');
    hashes.add(hashBytes(bytes, 0, bytes.length));
  }
  return hashes;
}

let hashA = 0;
let hashB = 0;
/** The two 32-bit FNV-1a hashes of `key` that BloomFilter uses, into hashA and hashB. */
function keyHashes(key: string): void {
  let a = 0x811c9dc5;
  let b = 0x6c62272e;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  hashA = a;
  hashB = b;
}

/**
 * Blocked Bloom filter (Bloom 1970; one cache line per key, Putze, Sanders & Singler 2007): the first hash picks a
 * 512-bit block, `probes` bits inside it come from a second hash by double hashing (Kirsch & Mitzenmacher 2006).
 * Two independent 32-bit FNV-1a hashes of the key are computed in one loop, so that ids colliding in one of them still
 * differ in the other. Never a false negative; the false-positive rate after n keys in m bits is close to
 * (1 − e^(−kn/m))^k (a little above it, for the blocking).
 */
export class BloomFilter {
  readonly bits: Uint32Array;
  private readonly blockMask: number;
  constructor(
    readonly log2Bits: number,
    readonly probes: number,
  ) {
    if (log2Bits < 9 || log2Bits > 34) throw new RangeError(`log2Bits ${log2Bits} out of 9..34`);
    this.bits = new Uint32Array(2 ** (log2Bits - 5));
    this.blockMask = 2 ** (log2Bits - 9) - 1;
  }
  /** Adds `key`; true when it may have been added before (every probed bit was already set). */
  add(key: string): boolean {
    keyHashes(key);
    return this.addHashes(hashA, hashB);
  }
  /** add() of a key whose keyHashes() were `a` and `b`. */
  addHashes(a: number, b: number): boolean {
    const h1 = fmix32(a);
    const h2 = fmix32(b ^ 0x9e3779b9) | 1;
    const base = (h1 & this.blockMask) << 4; // first of the block's 16 words
    let present = true;
    for (let i = 0; i < this.probes; i++) {
      const bit = (h2 + Math.imul(i, h1 >>> 16 | 1)) & 511;
      const word = base + (bit >>> 5);
      const flag = 1 << (bit & 31);
      if ((this.bits[word] & flag) === 0) {
        present = false;
        this.bits[word] |= flag;
      }
    }
    return present;
  }
  /**
   * Reads (and returns) the first word of the block of a key whose first keyHash is `a`, changing nothing: touching
   * the blocks of many keys in a tight loop lets their cache misses overlap, so that addHashes on them then hits.
   */
  touch(a: number): number {
    return this.bits[(fmix32(a) & this.blockMask) << 4];
  }
  get byteLength(): number {
    return this.bits.byteLength;
  }
}

/**
 * Duplicate-id detection in memory independent of the number of records. Pass 1 (`offer`) puts every id in a
 * fixed-size Bloom filter; an id the filter may have seen is a *candidate*: its row is held back (not counted) and
 * the id remembered. Pass 2 (`confirm`, over the same rows in the same order, only when there are candidates) keeps
 * the first row of each candidate id and calls every later row with that id a duplicate; a held-back row whose id
 * turns out to be new was a false positive and is counted then. The candidate sets hold duplicates plus false
 * positives: with the default 2^28-bit (32 MiB) filter and 8 probes, 0.13 % of 16.8 million ids (21,324 measured);
 * they are capped at `maxCandidates` so memory stays bounded even for inputs far beyond that.
 */
export class DuplicateIds {
  readonly filter: BloomFilter;
  /** ids that may be duplicates (pass 1) */
  readonly candidateIds = new Set<string>();
  /** rows held back in pass 1 */
  readonly heldRows = new Set<number>();
  /** candidate id → data row of its first accepted occurrence (pass 2) */
  private readonly firstRow = new Map<string, number>();
  constructor(
    readonly what: string,
    options: { log2Bits?: number; probes?: number; maxCandidates?: number } = {},
  ) {
    this.filter = new BloomFilter(options.log2Bits ?? 28, options.probes ?? 8);
    this.maxCandidates = options.maxCandidates ?? 1_000_000;
  }
  readonly maxCandidates: number;

  /** Pass 1: true when the row may be a duplicate and is held back for pass 2. */
  offer(id: string, row: number): boolean {
    if (!this.filter.add(id)) return false;
    this.hold(id, row);
    return true;
  }

  private hold(id: string, row: number): void {
    if (this.heldRows.size >= this.maxCandidates) {
      throw new SpillwayError('invalidInput', `more than ${this.maxCandidates} ${this.what} ids may repeat; the duplicate check's fixed-size filter is saturated`, {
        row,
        expected: `unique ${this.what} ids, and fewer than about 100 million rows per file`,
        hint: 'split the file, or remove repeated ids',
      });
    }
    this.candidateIds.add(id);
    this.heldRows.add(row);
  }

  /** ids queued by queue(), not yet offered */
  static readonly BATCH = 64;
  private readonly queuedIds: string[] = new Array<string>(DuplicateIds.BATCH);
  private readonly queuedRows = new Float64Array(DuplicateIds.BATCH);
  private readonly queuedA = new Int32Array(DuplicateIds.BATCH);
  private readonly queuedB = new Int32Array(DuplicateIds.BATCH);
  private queued = 0;
  private touched = 0;

  /**
   * Pass 1 in batches: queues `id` (of data row `row`) and returns its slot, 0..BATCH−1; when the slot is BATCH − 1
   * the caller must call flush() (and may call it earlier). flush() offers the queued ids in their order — exactly as
   * offer() one by one would — and calls `accepted(slot)` for each one that is not held back. The batch lets the
   * filter's memory be read for all its ids before any is needed: a 32 MiB filter costs a cache miss per id, and
   * misses that overlap cost little more than one.
   */
  queue(id: string, row: number): number {
    const k = this.queued++;
    if (k >= DuplicateIds.BATCH) throw new RangeError('DuplicateIds.queue: flush() was not called after a full batch');
    keyHashes(id);
    this.queuedIds[k] = id;
    this.queuedRows[k] = row;
    this.queuedA[k] = hashA;
    this.queuedB[k] = hashB;
    return k;
  }

  flush(accepted: (slot: number) => void): void {
    const n = this.queued;
    if (n === 0) return;
    const filter = this.filter;
    let sink = 0;
    for (let k = 0; k < n; k++) sink |= filter.touch(this.queuedA[k]);
    this.touched ^= sink; // kept, so that the reads are not optimized away
    this.queued = 0;
    for (let k = 0; k < n; k++) {
      const id = this.queuedIds[k];
      this.queuedIds[k] = '';
      if (filter.addHashes(this.queuedA[k], this.queuedB[k])) this.hold(id, this.queuedRows[k]);
      else accepted(k);
    }
  }

  get needsSecondPass(): boolean {
    return this.heldRows.size > 0;
  }

  /**
   * Pass 2, for each row accepted in pass 1 or held back: 'skip' (counted in pass 1), 'count' (a held-back row whose
   * id is new), or the data row of the earlier occurrence (a duplicate).
   */
  confirm(id: string, row: number): 'skip' | 'count' | number {
    if (!this.candidateIds.has(id)) return 'skip';
    const first = this.firstRow.get(id);
    if (first !== undefined && first !== row) return first;
    this.firstRow.set(id, row);
    return this.heldRows.has(row) ? 'count' : 'skip';
  }
}

/**
 * Misra–Gries summary (Misra & Gries 1982) with `capacity` counters: every key whose count exceeds n/(capacity + 1)
 * of the n keys offered is among the kept keys (the counts kept are lower bounds; confirm them exactly in a second pass).
 */
export class HeavyHitters {
  readonly counters = new Map<string, number>();
  constructor(readonly capacity: number) {
    if (!(capacity >= 1) || !Number.isInteger(capacity)) throw new RangeError(`capacity ${capacity} must be a positive integer`);
  }
  offer(key: string): void {
    const c = this.counters.get(key);
    if (c !== undefined) this.counters.set(key, c + 1);
    else if (this.counters.size < this.capacity) this.counters.set(key, 1);
    else {
      for (const [k, v] of this.counters) {
        if (v === 1) this.counters.delete(k);
        else this.counters.set(k, v - 1);
      }
    }
  }
  keys(): string[] {
    return [...this.counters.keys()];
  }
}
