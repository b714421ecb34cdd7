// Structures that let ingest stream record files of any length in bounded memory: an exact set of hashed ids that
// falls back to a Bloom filter past a size cap (duplicate detection, confirmed exactly in a second pass over the few
// candidates) and Misra–Gries heavy-hitter counters (the outlier rule's applicants, confirmed exactly in a second pass).
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
/**
 * Two 32-bit hashes of bytes [start, end) of `buf`, into hashA and hashB: FNV-1a, and a variant with another offset
 * basis and a shift folded in, computed in one loop, so that keys colliding in one of them still differ in the other.
 */
function bytesHashes(buf: Uint8Array, start: number, end: number): void {
  let a = 0x811c9dc5;
  let b = 0x6c62272e;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  hashA = a | 0;
  hashB = b | 0;
}
/** bytesHashes of the UTF-8 bytes of `key` (the same hashes whether a key comes as a string or as the bytes of a field). */
function keyHashes(key: string): void {
  let a = 0x811c9dc5;
  let b = 0x6c62272e;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) {
      const bytes = Buffer.from(key, 'utf8');
      bytesHashes(bytes, 0, bytes.length);
      return;
    }
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  hashA = a | 0;
  hashB = b | 0;
}

/**
 * An exact set of 64-bit fingerprints (the two 32-bit hashes of a key): open addressing with linear probing over pairs
 * of 32-bit words in one Int32Array, so that a lookup reads one cache line. It starts small and grows fourfold at half
 * full, up to 2^maxLog2Slots slots (8 bytes each), where it may fill to 70 %; past that `full` is set and it accepts no
 * more. A slot's home is given by the top bits of the mixed first hash, so that growing moves entries in the order of
 * their slots (the new table is written almost sequentially).
 */
export class FingerprintSet {
  private slots: Int32Array;
  private log2: number;
  private mask: number;
  private limit: number;
  size = 0;
  full = false;
  constructor(
    log2Slots: number,
    readonly maxLog2Slots: number,
  ) {
    if (!(log2Slots >= 4 && log2Slots <= maxLog2Slots && maxLog2Slots <= 28)) throw new RangeError(`log2Slots ${log2Slots} out of 4..${maxLog2Slots} (at most 28)`);
    this.log2 = log2Slots;
    this.slots = new Int32Array(2 << log2Slots);
    this.mask = (1 << log2Slots) - 1;
    this.limit = this.limitFor(log2Slots);
  }
  private limitFor(log2: number): number {
    return log2 < this.maxLog2Slots ? 2 ** (log2 - 1) : Math.floor(0.7 * 2 ** log2);
  }
  get byteLength(): number {
    return this.slots.byteLength;
  }
  /** Reads (and returns) the first word of the home slot of a key whose first hash is `a`, changing nothing (see BloomFilter.touch). */
  touch(a: number): number {
    return this.slots[(fmix32(a) >>> (32 - this.log2)) << 1];
  }
  /**
   * Adds the fingerprint (a, b); true when it was there already. Must not be called once `full` (the set then holds
   * every fingerprint added before, for forEach).
   */
  add(a: number, b: number): boolean {
    if (a === 0 && b === 0) b = 1; // (0, 0) marks an empty slot
    const slots = this.slots;
    const mask = this.mask;
    let i = fmix32(a) >>> (32 - this.log2);
    for (;;) {
      const j = i << 1;
      const sa = slots[j];
      const sb = slots[j + 1];
      if (sa === a && sb === b) return true;
      if (sa === 0 && sb === 0) {
        slots[j] = a;
        slots[j + 1] = b;
        if (++this.size >= this.limit) {
          if (this.log2 < this.maxLog2Slots) this.grow();
          else this.full = true;
        }
        return false;
      }
      i = (i + 1) & mask;
    }
  }
  /** Calls `f` with each fingerprint in the set. */
  forEach(f: (a: number, b: number) => void): void {
    const slots = this.slots;
    for (let j = 0; j < slots.length; j += 2) if (slots[j] !== 0 || slots[j + 1] !== 0) f(slots[j], slots[j + 1]);
  }
  private grow(): void {
    const old = this.slots;
    // by 4: a quarter of the moves of doubling (and of the fresh pages to fault in), at a lower load in between
    this.log2 = Math.min(this.log2 + 2, this.maxLog2Slots);
    this.slots = new Int32Array(2 << this.log2);
    this.mask = (1 << this.log2) - 1;
    this.limit = this.limitFor(this.log2);
    const slots = this.slots;
    const mask = this.mask;
    const shift = 32 - this.log2;
    for (let k = 0; k < old.length; k += 2) {
      const a = old[k];
      const b = old[k + 1];
      if (a === 0 && b === 0) continue;
      let i = fmix32(a) >>> shift;
      while (slots[i << 1] !== 0 || slots[(i << 1) + 1] !== 0) i = (i + 1) & mask;
      slots[i << 1] = a;
      slots[(i << 1) + 1] = b;
    }
  }
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
 * Duplicate-id detection. Pass 1 (`offer`, or `queue` and `flush`) adds each id's 64-bit fingerprint (two 32-bit
 * hashes of its UTF-8 bytes) to an exact FingerprintSet; an id whose fingerprint is there already is a *candidate*: its
 * row is held back (not counted) and the id remembered. Pass 2 (`confirm`, over the same rows in the same order, only
 * when there are candidates) keeps the first row of each candidate id and calls every later row with that id a
 * duplicate; a held-back row whose id turns out to be new (another id with the same fingerprint: about n²/2^65 of them
 * for n ids, 4·10^-6 at 17 million) is counted then. So a file without repeated ids is read once.
 * Memory: the set holds 8 bytes a slot, at most 2^maxLog2Slots slots (2^25: 256 MiB, 23 million ids). Past that the
 * fingerprints move into a blocked Bloom filter of 2^fallbackLog2Bits bits (2^30: 128 MiB) and the check goes on as
 * before with that filter: its false positives are candidates too, settled by the same second pass, so the result is
 * the same and only the work grows. The candidate sets are capped at `maxCandidates`.
 */
export class DuplicateIds {
  /** the exact set, until it is full */
  set: FingerprintSet | undefined;
  /** the filter the set's fingerprints moved to once it was full */
  filter: BloomFilter | undefined;
  /** ids that may be duplicates (pass 1) */
  readonly candidateIds = new Set<string>();
  /** rows held back in pass 1 */
  readonly heldRows = new Set<number>();
  /** candidate id → data row of its first accepted occurrence (pass 2) */
  private readonly firstRow = new Map<string, number>();
  readonly maxCandidates: number;
  private readonly fallbackLog2Bits: number;
  private readonly probes: number;
  /** ANDed into both hashes (tests: fewer bits make colliding fingerprints) */
  private readonly fingerprintMask: number;
  constructor(
    readonly what: string,
    options: { log2Slots?: number; maxLog2Slots?: number; fallbackLog2Bits?: number; probes?: number; maxCandidates?: number; fingerprintMask?: number } = {},
  ) {
    const maxLog2Slots = options.maxLog2Slots ?? 25;
    this.set = new FingerprintSet(Math.min(options.log2Slots ?? 16, maxLog2Slots), maxLog2Slots);
    this.fallbackLog2Bits = options.fallbackLog2Bits ?? 30;
    this.probes = options.probes ?? 8;
    this.maxCandidates = options.maxCandidates ?? 1_000_000;
    this.fingerprintMask = options.fingerprintMask ?? -1;
  }

  /** the bytes held for the ids: the set's, or the filter's once the set was full */
  get byteLength(): number {
    return this.set ? this.set.byteLength : this.filter!.byteLength;
  }

  /** Pass 1: true when the row may be a duplicate and is held back for pass 2. */
  offer(id: string, row: number): boolean {
    keyHashes(id);
    if (!this.add(hashA & this.fingerprintMask, hashB & this.fingerprintMask)) return false;
    this.hold(id, row);
    return true;
  }

  /** Adds a fingerprint to the set (or to the filter, once the set is full); true when it may have been added before. */
  private add(a: number, b: number): boolean {
    // the set keeps (0, 0) as (0, 1) (its empty slot): so does the filter, or a (0, 0) added to the set and moved into
    // the filter would not be found there again
    if (a === 0 && b === 0) b = 1;
    const set = this.set;
    if (set !== undefined) {
      const present = set.add(a, b);
      if (set.full) {
        // bounded memory: the fingerprints move into a fixed-size filter, which takes every later id
        const filter = new BloomFilter(this.fallbackLog2Bits, this.probes);
        set.forEach((x, y) => filter.addHashes(x, y));
        this.filter = filter;
        this.set = undefined;
      }
      return present;
    }
    return this.filter!.addHashes(a, b);
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
  /** the buffers of ids queued by queueBytes (undefined: its string is in queuedIds), made strings only when held back */
  private readonly queuedBufs: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(DuplicateIds.BATCH);
  private readonly queuedStarts = new Int32Array(DuplicateIds.BATCH);
  private readonly queuedEnds = new Int32Array(DuplicateIds.BATCH);
  private readonly queuedA = new Int32Array(DuplicateIds.BATCH);
  private readonly queuedB = new Int32Array(DuplicateIds.BATCH);
  private queued = 0;
  private touched = 0;

  /**
   * Pass 1 in batches: queues `id` (of data row `row`) and returns its slot, 0..BATCH−1; when the slot is BATCH − 1
   * the caller must call flush() (and may call it earlier). flush() offers the queued ids in their order — exactly as
   * offer() one by one would — and calls `accepted(slot)` for each one that is not held back. The batch lets the
   * set's memory be read for all its ids before any is needed: a set of millions of ids costs a cache miss per id,
   * and misses that overlap cost little more than one.
   */
  queue(id: string, row: number): number {
    const k = this.queued++;
    if (k >= DuplicateIds.BATCH) throw new RangeError('DuplicateIds.queue: flush() was not called after a full batch');
    keyHashes(id);
    this.queuedIds[k] = id;
    this.queuedBufs[k] = undefined;
    this.queuedRows[k] = row;
    this.queuedA[k] = hashA & this.fingerprintMask;
    this.queuedB[k] = hashB & this.fingerprintMask;
    return k;
  }

  /**
   * queue() of the id whose UTF-8 bytes are [start, end) of `buf` (the same hashes, so the same verdicts): no string is
   * made unless the id is held back. `buf` is kept until flush(), not copied: its bytes must not change until then
   * (readCsvRows' RowFields.buf never does).
   */
  queueBytes(buf: Uint8Array, start: number, end: number, row: number): number {
    const k = this.queued++;
    if (k >= DuplicateIds.BATCH) throw new RangeError('DuplicateIds.queue: flush() was not called after a full batch');
    this.queuedBufs[k] = buf;
    this.queuedStarts[k] = start;
    this.queuedEnds[k] = end;
    bytesHashes(buf, start, end);
    this.queuedRows[k] = row;
    this.queuedA[k] = hashA & this.fingerprintMask;
    this.queuedB[k] = hashB & this.fingerprintMask;
    return k;
  }

  flush(accepted: (slot: number) => void): void {
    const n = this.queued;
    if (n === 0) return;
    let sink = 0;
    const set = this.set;
    if (set !== undefined) for (let k = 0; k < n; k++) sink |= set.touch(this.queuedA[k]);
    else for (let k = 0; k < n; k++) sink |= this.filter!.touch(this.queuedA[k]);
    this.touched ^= sink; // kept, so that the reads are not optimized away
    this.queued = 0;
    for (let k = 0; k < n; k++) {
      if (this.add(this.queuedA[k], this.queuedB[k])) {
        const buf = this.queuedBufs[k];
        const id = buf === undefined ? this.queuedIds[k] : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', this.queuedStarts[k], this.queuedEnds[k]);
        this.hold(id, this.queuedRows[k]);
      } else accepted(k);
      this.queuedIds[k] = '';
      this.queuedBufs[k] = undefined;
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
