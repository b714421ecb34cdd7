// Content hashing with a stat cache: an unchanged file (same size, mtime, inode) is not re-read.
// sha256 (OpenSSL, SHA-NI where the CPU has it): the lockfile is a provenance record, so a collision-resistant,
// universally checkable hash is worth it; bench/engine-hash.js measures it against the alternatives Node ships.
import type { Hash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from './fs-atomic.js';
import { relativeUnder } from './paths.js';

export const HASH_ALGORITHM = 'sha256';

/** Files modified within this window of when their hash was recorded are re-hashed (racy timestamps, as in git). */
export const RACY_WINDOW_MS = 2000;

// node:crypto is loaded on first use: a no-op run finds every digest in the stat cache and never needs it.
let cryptoModule: typeof import('node:crypto') | undefined;
function createHash(algorithm: string): Hash {
  cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return cryptoModule.createHash(algorithm);
}

export function hashBytes(data: string | Uint8Array): string {
  return `${HASH_ALGORITHM}:${createHash(HASH_ALGORITHM).update(data).digest('hex')}`;
}

/**
 * Deterministic JSON: object keys sorted at every level, so equal values hash equally (integer-like keys come first,
 * in numeric order, as JavaScript enumerates them). Each object is copied with its keys sorted into a table without a
 * prototype: a copy into `{}` dropped a key "__proto__" (assigning it set the copy's prototype), so that two values
 * differing only there had one text, and one cache key.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const sorted = Object.create(null) as Record<string, unknown>;
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

export function hashJson(value: unknown): string {
  return hashBytes(canonicalJson(value));
}

/**
 * A fast 64-bit checksum of a text (two independent 32-bit multiply-xorshift lanes, as in cyrb53), for files that the
 * engine reads on every run and must not trust when damaged (the stat cache, the parsed-pipeline cache). It catches a
 * flipped bit or an edit, like the checksum trailer of git's index; it is not a defence against someone who rewrites
 * the checksum too (nothing local is), and it keeps node:crypto out of a no-op run.
 */
export function checksum(text: string): string {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The same checksum over bytes, taken four at a time as little-endian 32-bit words (then the 0-3 bytes left one by
 * one): a quarter of the steps of `checksum`, which matters for the caches read on every no-op (about 5 ms less for
 * a 60 KB stat cache on a cold start, where this loop runs in V8's interpreter).
 */
export function checksumBytes(bytes: Uint8Array): string {
  const mix = bytes.length >= WASM_MIN_BYTES ? wasmMixer() : undefined;
  return mix !== undefined ? checksumWasm(bytes, mix) : checksumBytesScalar(bytes);
}

/** `checksumBytes` in JavaScript alone: the definition the WebAssembly path must agree with (exported for its test). */
export function checksumBytesScalar(bytes: Uint8Array): string {
  const words = bytes.length >>> 2;
  let view: Int32Array;
  if (LITTLE_ENDIAN && (bytes.byteOffset & 3) === 0) view = new Int32Array(bytes.buffer, bytes.byteOffset, words);
  else if (LITTLE_ENDIAN) {
    const copy = new Uint8Array(words * 4);
    copy.set(bytes.subarray(0, words * 4));
    view = new Int32Array(copy.buffer);
  }
  else {
    view = new Int32Array(words);
    const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < words; i++) view[i] = data.getInt32(i * 4, true);
  }
  let h1 = 0xdeadbeef ^ bytes.length;
  let h2 = 0x41c6ce57 ^ bytes.length;
  for (let i = 0; i < words; i++) {
    const c = view[i];
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  return finishChecksum(bytes, words * 4, h1, h2);
}

/** The bytes after the last whole word, one by one, then the final mix of both halves: shared by both word loops. */
function finishChecksum(bytes: Uint8Array, from: number, h1: number, h2: number): string {
  for (let i = from; i < bytes.length; i++) {
    const c = bytes[i];
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

/**
 * The word loop of `checksumBytes` in WebAssembly: on a cold start V8 runs the JavaScript loop in its interpreter
 * (1.4-5 ms for the 80 KB stat cache a no-op reads), the WebAssembly one compiled (about 0.1 ms). The module is the
 * one bin/spillway.js uses for the code cache's checksum, byte for byte (test/engine/cli-checksum.test.ts checks that
 * both give the JavaScript loop's answer): (start, end, h1, h2) -> h1 | h2 << 32 after h1 = (h1 ^ word) * 2654435761,
 * h2 = (h2 ^ word) * 1597334677 for each little-endian 32-bit word of its memory `m` from start to end.
 */
export const CHECKSUM_WASM = 'AGFzbQEAAAABCQFgBH9/f38BfgMCAQAFAwEAAQcLAgFtAgADbWl4AAAKSQFHAQF/AkADQCAAIAFPDQEgACgAACEEIAIgBHNBsfPd8XlsIQIgAyAEc0GVydX5BWwhAyAAQQRqIQAMAAsLIAKtIAOtQiCGhAs=';
/** below this, compiling and instantiating the module (1-2 ms measured on a cold start) costs more than the interpreted loop (about 0.5 ms for 28 KB) */
const WASM_MIN_BYTES = 65536;

interface WasmMixer {
  m: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  mix(start: number, end: number, h1: number, h2: number): bigint;
}

/** The part of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

let wasmState: WasmMixer | null | undefined;

function wasmMixer(): WasmMixer | undefined {
  if (wasmState === undefined) {
    wasmState = null;
    // no WebAssembly (node --jitless) or a big-endian machine: the JavaScript loop
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (typeof wasm === 'object' && LITTLE_ENDIAN) {
      try {
        wasmState = new wasm.Instance(new wasm.Module(Buffer.from(CHECKSUM_WASM, 'base64'))).exports as WasmMixer;
      } catch {
        wasmState = null;
      }
    }
  }
  return wasmState ?? undefined;
}

function checksumWasm(bytes: Uint8Array, mix: WasmMixer): string {
  const whole = bytes.length & ~3;
  const pages = Math.ceil(whole / 65536) - mix.m.buffer.byteLength / 65536;
  if (pages > 0) mix.m.grow(pages);
  new Uint8Array(mix.m.buffer, 0, whole).set(bytes.subarray(0, whole));
  const both = mix.mix(0, whole, 0xdeadbeef ^ bytes.length, 0x41c6ce57 ^ bytes.length);
  return finishChecksum(bytes, whole, Number(BigInt.asIntN(32, both)), Number(BigInt.asIntN(32, both >> 32n)));
}

/** Sealed files as written before: `checksum` of the text (read still; an old cache is not thrown away). */
const SEALED_V1 = 'spillway-sealed ';
/** Sealed files as written now: `checksumBytes` of the UTF-8 text. */
const SEALED = 'spillway-sealed2 ';

/** Whether a file's text starts with a seal (either format). */
export function isSealed(text: string): boolean {
  return text.startsWith(SEALED) || text.startsWith(SEALED_V1);
}

/** `text` with a first line holding its checksum; `unseal` gives the text back only when the checksum matches. */
export function seal(text: string): string {
  return `${SEALED}${checksumBytes(Buffer.from(text, 'utf8'))}\n${text}`;
}

/** The text of a sealed file, or undefined when the seal is missing or does not match (a damaged cache). */
export function unseal(sealed: string): string | undefined {
  const newline = sealed.indexOf('\n');
  if (newline < 0) return undefined;
  const text = sealed.slice(newline + 1);
  if (sealed.startsWith(SEALED)) return sealed.slice(SEALED.length, newline) === checksumBytes(Buffer.from(text, 'utf8')) ? text : undefined;
  if (sealed.startsWith(SEALED_V1)) return sealed.slice(SEALED_V1.length, newline) === checksum(text) ? text : undefined;
  return undefined;
}

/** `unseal` of a file's bytes as read (readFileSync without an encoding): the checksum runs on the bytes, no re-encoding. */
export function unsealBytes(sealed: Buffer): string | undefined {
  const newline = sealed.indexOf(10);
  if (newline < 0) return undefined;
  const head = sealed.toString('latin1', 0, newline);
  if (head.startsWith(SEALED)) {
    const body = sealed.subarray(newline + 1);
    return head.slice(SEALED.length) === checksumBytes(body) ? body.toString('utf8') : undefined;
  }
  return head.startsWith(SEALED_V1) ? unseal(sealed.toString('utf8')) : undefined;
}

const CHUNK = 4 * 1024 * 1024;

/** Hashes a file's bytes: small files in one read, large ones in 4 MB chunks through one reused buffer. */
export function hashFileContent(path: string, size?: number): string {
  const bytes = size ?? statSync(path).size;
  if (bytes <= CHUNK) return hashBytes(readFileSync(path));
  const hash = createHash(HASH_ALGORITHM);
  const buffer = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(n === CHUNK ? buffer : buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return `${HASH_ALGORITHM}:${hash.digest('hex')}`;
}

/** The "version" of a package.json (or "unknown"); undefined when it cannot be read or parsed. */
export function readPackageVersion(file: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return undefined;
  }
}

/**
 * [size, mtimeMs, ino, hash, hashedAtMs, ctimeMs]: the ctime, which only the kernel sets, catches an edit in place to the
 * same size with the mtime put back (touch -d, cp -p, tar or rsync keeping times); an entry without one (written by an
 * older engine) never matches, and the file is hashed again once.
 */
type StatEntry = [number, number, number, string, number, number?];

interface StatCacheFile {
  version: 2;
  files: Record<string, StatEntry>;
  /** code file "path|hash" → its local imports (project-relative) and "pkg:name" for npm packages it imports, so es-module-lexer runs only on changed code */
  imports: Record<string, string[]>;
  /** glob pattern → its matches and the directories walked (see glob.ts) */
  globs?: Record<string, import('./glob.js').GlobCacheEntry>;
  /** lockfiles this engine wrote or checked entry by entry: path → [size, mtimeMs, ino, recordedAtMs, ctimeMs] */
  lockfiles?: Record<string, [number, number, number, number, number?]>;
  /** canonical JSON text → its digest (keys, code hashes, dir manifests), so an unchanged key is not re-hashed */
  digests?: Record<string, string>;
  /** absolute path of a package.json → [size, mtimeMs, ino, its "version", readAtMs, ctimeMs] (code.ts packageVersion) */
  packages?: Record<string, [number, number, number, string, number, number?]>;
}

export interface HashedFile {
  path: string; // project-relative, forward slashes
  hash: string;
  size: number;
}

export class StatCache {
  private data: StatCacheFile;
  private dirty = false;
  /** files hashed (read) during this process, for tests and the benchmark */
  hashedCount = 0;

  constructor(
    readonly projectRoot: string,
    readonly cacheFile: string | undefined = join(projectRoot, '.spillway', 'stat-cache.json'),
  ) {
    this.data = { version: 2, files: dict(), imports: dict() };
    if (cacheFile) {
      try {
        // Sealed with a checksum: a damaged or edited cache is discarded (costing a re-hash), never believed.
        const bytes = readFileSync(cacheFile);
        const text = unsealBytes(bytes);
        const parsed = text === undefined ? undefined : (JSON.parse(text) as StatCacheFile);
        if (parsed !== undefined && wellFormed(parsed)) {
          // sealed the older, slower way: written again (once) the faster way
          if (!bytes.subarray(0, SEALED.length).equals(Buffer.from(SEALED))) this.dirty = true;
          // tables without prototypes, so that a file named "constructor" or "__proto__" is just a key
          this.data = { version: 2, files: dict(parsed.files), imports: dict(parsed.imports), globs: dict(parsed.globs), digests: dict(parsed.digests), lockfiles: dict(parsed.lockfiles), packages: dict(parsed.packages) };
        }
        else this.discarded = true;
      } catch (error) {
        // no cache yet is normal; anything else is a damaged cache
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.discarded = true;
      }
    }
  }

  /**
   * Whether a lockfile is one this engine wrote or fully checked, unchanged since (same size, mtime and inode, past
   * the racy window): then its entries need not be checked against the run cache again (see decide.ts).
   */
  lockfileTrusted(path: string): boolean {
    const seen = this.data.lockfiles?.[this.relative(path)];
    if (seen === undefined) return false;
    try {
      const st = statSync(path);
      return seen[0] === st.size && seen[1] === st.mtimeMs && seen[2] === st.ino && seen[4] === st.ctimeMs && seen[3] - seen[1] > RACY_WINDOW_MS;
    } catch {
      return false;
    }
  }

  trustLockfile(path: string): void {
    // already trusted as it is: nothing to record (a no-op run then leaves the stat cache unwritten)
    if (this.lockfileTrusted(path)) return;
    try {
      const st = statSync(path);
      (this.data.lockfiles ??= dict())[this.relative(path)] = [st.size, st.mtimeMs, st.ino, Date.now(), st.ctimeMs];
    } catch {
      if (this.data.lockfiles) delete this.data.lockfiles[this.relative(path)];
    }
    this.dirty = true;
  }

  /** true when a cache file existed but failed its checksum or shape check and was ignored */
  discarded = false;

  relative(path: string): string {
    return relativeUnder(this.projectRoot, isAbsolute(path) ? path : resolve(this.projectRoot, path));
  }

  /**
   * Per-run memo of hashFile (absolute path -> result) while no stage has run or been restored: the stage decisions of
   * a run share code files, schemas and outputs, and a no-op would otherwise stat (and look up) each of them once per
   * stage. Nothing in this process writes a project file while the memo is on: `remember` (called after every write
   * the engine makes) and `endMemo` (called by the runner before a stage's outputs are restored or the stage runs)
   * turn it off for the rest of the run. An edit by someone else during the run is seen by the next run, as an edit
   * made just after this one would be: the stat cache itself is never told anything the memo saw.
   */
  private memo: Map<string, HashedFile> | undefined;
  private memoEnded = false;

  /** Starts the per-run memo (see `memo`); a no-op once it has ended. */
  startMemo(): void {
    if (!this.memoEnded) this.memo ??= new Map();
  }

  /** Ends the per-run memo for good: from now on every hashFile stats its file again. */
  endMemo(): void {
    this.memo = undefined;
    this.memoEnded = true;
  }

  /** Hash of a file's content, from the cache when size, mtime and inode match and the entry is not racy. */
  hashFile(path: string, stats?: Stats): HashedFile {
    const abs = isAbsolute(path) ? path : resolve(this.projectRoot, path);
    const memo = stats === undefined ? this.memo : undefined;
    if (memo !== undefined) {
      const seen = memo.get(abs);
      if (seen !== undefined) return { path: seen.path, hash: seen.hash, size: seen.size };
      const hashed = this.hashFileNow(abs, undefined);
      memo.set(abs, hashed);
      return { path: hashed.path, hash: hashed.hash, size: hashed.size };
    }
    return this.hashFileNow(abs, stats);
  }

  private hashFileNow(abs: string, stats: Stats | undefined): HashedFile {
    const rel = this.relative(abs);
    const st = stats ?? statSync(abs);
    const entry = this.data.files[rel];
    if (
      entry !== undefined &&
      entry[0] === st.size &&
      entry[1] === st.mtimeMs &&
      entry[2] === st.ino &&
      entry[5] === st.ctimeMs &&
      entry[4] - entry[1] > RACY_WINDOW_MS
    ) {
      return { path: rel, hash: entry[3], size: st.size };
    }
    const hashedAt = Date.now();
    const hash = hashFileContent(abs, st.size);
    this.hashedCount += 1;
    this.data.files[rel] = [st.size, st.mtimeMs, st.ino, hash, hashedAt, st.ctimeMs];
    this.dirty = true;
    return { path: rel, hash, size: st.size };
  }

  /** Records a hash the engine already knows (it just wrote the file), so the next run need not re-read it. */
  remember(path: string, hash: string): void {
    this.endMemo();
    const abs = isAbsolute(path) ? path : resolve(this.projectRoot, path);
    const st = statSync(abs);
    this.data.files[this.relative(abs)] = [st.size, st.mtimeMs, st.ino, hash, Date.now(), st.ctimeMs];
    this.dirty = true;
  }

  private usedDigests = new Set<string>();

  /** sha256 of a text the engine builds (a key's canonical JSON, a manifest), remembered across runs. */
  digestOf(text: string): string {
    this.usedDigests.add(text);
    const known = this.data.digests?.[text];
    if (known !== undefined) return known;
    const digest = hashBytes(text);
    (this.data.digests ??= dict())[text] = digest;
    this.dirty = true;
    return digest;
  }

  /**
   * The "version" of the package.json at `file` (an absolute path), read only when its size, mtime or inode changed
   * since it was last read (or it was read within the racy window); undefined when it is missing or unreadable, as
   * readPackageVersion gives it.
   */
  packageVersion(file: string): string | undefined {
    let st: Stats | undefined;
    try {
      st = statSync(file);
    } catch {
      return undefined;
    }
    const seen = this.data.packages?.[file];
    if (seen !== undefined && seen[0] === st.size && seen[1] === st.mtimeMs && seen[2] === st.ino && seen[5] === st.ctimeMs && seen[4] - seen[1] > RACY_WINDOW_MS) return seen[3];
    const readAt = Date.now();
    const version = readPackageVersion(file);
    if (version === undefined) return undefined;
    (this.data.packages ??= dict())[file] = [st.size, st.mtimeMs, st.ino, version, readAt, st.ctimeMs];
    this.dirty = true;
    return version;
  }

  getImports(rel: string, hash: string): string[] | undefined {
    return this.data.imports[`${rel}|${hash}`];
  }

  setImports(rel: string, hash: string, imports: string[]): void {
    this.data.imports[`${rel}|${hash}`] = imports;
    this.dirty = true;
  }

  /** The "$ref"s of a schema file's version (schema-refs.ts), kept apart from the imports of code, in the same table. */
  getSchemaRefs(rel: string, hash: string): string[] | undefined {
    return this.data.imports[`${SCHEMA_REFS}${rel}|${hash}`];
  }

  setSchemaRefs(rel: string, hash: string, refs: string[]): void {
    this.data.imports[`${SCHEMA_REFS}${rel}|${hash}`] = refs;
    this.dirty = true;
  }

  getGlob(pattern: string): import('./glob.js').GlobCacheEntry | undefined {
    return this.data.globs?.[pattern];
  }

  setGlob(pattern: string, entry: import('./glob.js').GlobCacheEntry): void {
    (this.data.globs ??= dict())[pattern] = entry;
    this.dirty = true;
  }

  save(): void {
    if (!this.dirty || !this.cacheFile) return;
    // Temp files of finished stages are gone; their entries would only grow the cache.
    for (const path of Object.keys(this.data.files)) if (path.startsWith('.spillway/') || path.includes('.tmp-')) delete this.data.files[path];
    // Keep the digests this run used, and older ones only while the table is small.
    if (this.data.digests) {
      const all = Object.keys(this.data.digests);
      if (all.length > 256) for (const text of all) if (!this.usedDigests.has(text)) delete this.data.digests[text];
    }
    // Drop import entries of code versions no longer current, so the cache does not grow without bound.
    const current = new Set(Object.entries(this.data.files).map(([p, e]) => `${p}|${e[3]}`));
    for (const key of Object.keys(this.data.imports)) if (!current.has(key.startsWith(SCHEMA_REFS) ? key.slice(SCHEMA_REFS.length) : key)) delete this.data.imports[key];
    try {
      writeFileAtomic(this.cacheFile, seal(JSON.stringify(this.data)), { sync: false }); // sealed: a torn or lost cache is only discarded
    } catch {
      // a read-only project (or a .spillway that is no directory) still runs and reports: it only hashes again next time
      return;
    }
    this.dirty = false;
  }
}

/** A table without a prototype (keys such as "__proto__" stay plain keys), optionally filled from `from`. */
function dict<T>(from?: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, from ?? {});
}

const HASH_TEXT = /^sha256:[0-9a-f]{64}$/;
/**
 * prefix of a schema's "$ref" entry in the imports table (no project path starts with it); a new one whenever
 * schema-refs.ts finds references differently, so that entries made by an older definition are pruned, not reused
 */
const SCHEMA_REFS = '$ref3:';

/** The shape the engine relies on, checked entry by entry (the checksum already excludes damage; this excludes old formats). */
function wellFormed(data: StatCacheFile): boolean {
  if (data === null || typeof data !== 'object' || data.version !== 2) return false;
  if (typeof data.files !== 'object' || data.files === null || typeof data.imports !== 'object' || data.imports === null) return false;
  for (const e of Object.values(data.files)) {
    // 6 entries (5 from an engine before the ctime: believed as a table, never matched, so hashed again once)
    if (!Array.isArray(e) || (e.length !== 5 && (e.length !== 6 || typeof e[5] !== 'number')) || typeof e[0] !== 'number' || typeof e[1] !== 'number' || typeof e[2] !== 'number' || typeof e[4] !== 'number' || !HASH_TEXT.test(e[3])) return false;
  }
  for (const d of Object.values(data.digests ?? {})) if (typeof d !== 'string' || !HASH_TEXT.test(d)) return false;
  for (const e of Object.values(data.packages ?? {})) {
    if (!Array.isArray(e) || (e.length !== 5 && (e.length !== 6 || typeof e[5] !== 'number')) || typeof e[0] !== 'number' || typeof e[1] !== 'number' || typeof e[2] !== 'number' || typeof e[3] !== 'string' || typeof e[4] !== 'number') return false;
  }
  return true;
}

let defaultCache: StatCache | undefined;

/** `hashFile(path)` with the stat cache of the project at `projectRoot` (default: cwd). Call `saveHashCache()` to persist. */
export function hashFile(path: string, projectRoot: string = process.cwd()): HashedFile {
  const root = resolve(projectRoot);
  if (defaultCache === undefined || defaultCache.projectRoot !== root) defaultCache = new StatCache(root);
  return defaultCache.hashFile(path);
}

export function saveHashCache(): void {
  defaultCache?.save();
}
