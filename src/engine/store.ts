// The content-addressed store: artifacts/objects/<first 2 hex>/<rest>. Objects are immutable and written atomically,
// so a crash mid-write leaves at most a stray temp file, never a truncated object under its hash.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { copyFileAtomic, writeFileAtomic } from './fs-atomic.js';
import { canonicalJson, hashBytes, hashFileContent, type HashedFile, type StatCache } from './hash.js';
import { relativeUnder, under } from './paths.js';

export const STORE_DIR = 'artifacts';

export function objectRelPath(hash: string): string {
  const hex = hash.slice(hash.indexOf(':') + 1);
  return `${STORE_DIR}/objects/${hex.slice(0, 2)}/${hex.slice(2)}`;
}

export function objectPath(root: string, hash: string): string {
  return under(root, objectRelPath(hash), join);
}

export function hasObject(root: string, hash: string): boolean {
  return existsSync(objectPath(root, hash));
}

export type ObjectState = 'ok' | 'missing' | 'corrupt';

/**
 * Checks a stored object's bytes against the hash it is stored under. Through the stat cache an object unchanged since
 * it was last verified is not re-read, so this costs a stat on a no-op. With `quarantine`, a corrupt object is moved to
 * artifacts/quarantine/ (kept for inspection) so that it can never be served again.
 */
export function checkObject(root: string, hash: string, cache: StatCache | undefined, options: { quarantine?: boolean; read?: boolean } = {}): ObjectState {
  const path = objectPath(root, hash);
  let actual: string;
  try {
    // `read`: hash the bytes even when the stat cache vouches for them. A disk that flips bits, or an edit that puts
    // back size and mtime, leaves the stat unchanged; bytes about to be given to a stage or copied are read anyway.
    actual = cache && !options.read ? cache.hashFile(path).hash : hashFileContent(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return 'missing';
    throw error;
  }
  if (actual === hash) {
    if (cache && options.read) cache.remember(path, hash);
    return 'ok';
  }
  if (options.quarantine) {
    cache?.endMemo(); // the store changes: no hash seen before may be served again this run
    quarantineObject(root, hash);
  }
  return 'corrupt';
}

/** Moves a corrupt object out of the store, so that the next put writes a good copy under its hash. */
export function quarantineObject(root: string, hash: string): string {
  const hex = hash.slice(hash.indexOf(':') + 1);
  const target = join(root, STORE_DIR, 'quarantine', `${hex}-${Date.now()}-${process.pid}`);
  mkdirSync(dirname(target), { recursive: true });
  try {
    renameSync(objectPath(root, hash), target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return target;
}

/** Every object a stored directory needs (its manifest and each file), checked; the worst state wins. */
export function checkDir(root: string, hash: string, cache: StatCache | undefined, options: { quarantine?: boolean; read?: boolean } = {}): ObjectState {
  const manifestState = checkObject(root, hash, cache, options);
  if (manifestState !== 'ok') return manifestState;
  let manifest: DirManifest;
  try {
    manifest = readManifest(root, hash);
  } catch {
    return 'corrupt';
  }
  let state: ObjectState = 'ok';
  for (const f of manifest.files) {
    const s = checkObject(root, f.hash, cache, options);
    if (s === 'corrupt') return 'corrupt';
    if (s === 'missing') state = 'missing';
  }
  return state;
}

/**
 * Stores bytes under their hash. An object already there is trusted only after it checks out (a damaged one is
 * quarantined and written again): a put never leaves a wrong object under a hash the caller is about to record.
 */
export function putBytes(root: string, data: string | Uint8Array, knownHash?: string, cache?: StatCache): string {
  const hash = knownHash ?? hashBytes(data);
  const target = objectPath(root, hash);
  if (!existsSync(target) || checkObject(root, hash, cache, { quarantine: true, read: true }) !== 'ok') writeFileAtomic(target, data);
  cache?.remember(target, hash);
  return hash;
}

export function putFile(root: string, path: string, hash: string, cache?: StatCache): void {
  const target = objectPath(root, hash);
  if (!existsSync(target) || checkObject(root, hash, cache, { quarantine: true, read: true }) !== 'ok') copyFileAtomic(path, target);
  cache?.remember(target, hash);
}

export interface DirManifest {
  spillway_dir: 1;
  files: HashedFile[];
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = under(dir, entry.name, join);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile()) out.push(full);
  }
}


/** Hashes every file of a directory; the directory's hash is the hash of its manifest (paths, hashes, sizes). */
export function hashDir(dir: string, cache: StatCache): { hash: string; manifest: DirManifest; bytes: string; size: number } {
  const files: string[] = [];
  walk(dir, files);
  const entries = files
    .map((f) => {
      const h = cache.hashFile(f);
      return { path: relativeUnder(dir, f), hash: h.hash, size: h.size };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: DirManifest = { spillway_dir: 1, files: entries };
  const bytes = canonicalJson(manifest);
  return { hash: cache.digestOf(bytes), manifest, bytes, size: entries.reduce((s, e) => s + e.size, 0) };
}

/** Stores a directory: every file as an object, plus the manifest object under the directory's hash. */
export function putDir(root: string, dir: string, cache: StatCache): { hash: string; manifest: DirManifest; size: number } {
  const { hash, manifest, bytes, size } = hashDir(dir, cache);
  for (const f of manifest.files) putFile(root, join(dir, f.path), f.hash, cache);
  putBytes(root, bytes, hash, cache);
  return { hash, manifest, size };
}

export function readManifest(root: string, hash: string): DirManifest {
  return JSON.parse(readFileSync(objectPath(root, hash), 'utf8')) as DirManifest;
}

/** Every object a directory needs is present. */
export function hasDir(root: string, hash: string): boolean {
  if (!hasObject(root, hash)) return false;
  try {
    return readManifest(root, hash).files.every((f) => hasObject(root, f.hash));
  } catch {
    return false;
  }
}

/** Thrown when an object that was about to be served does not match its hash. */
export class CorruptObjectError extends Error {
  constructor(readonly hash: string) {
    super(`store object ${objectRelPath(hash)} does not match its hash (damaged on disk); it was moved to ${STORE_DIR}/quarantine/`);
  }
}

function mustCheck(root: string, hash: string, cache: StatCache | undefined): void {
  const state = checkObject(root, hash, cache, { quarantine: true, read: true });
  if (state === 'corrupt') throw new CorruptObjectError(hash);
  if (state === 'missing') throw new Error(`store object ${objectRelPath(hash)} is missing`);
}

/** Writes a stored file at a readable path (atomically), after checking the object against its hash. */
export function materializeFile(root: string, hash: string, target: string, cache?: StatCache): void {
  mustCheck(root, hash, cache);
  // a readable copy is checked against the store on every run: atomic, but not worth an fsync
  copyFileAtomic(objectPath(root, hash), target, { sync: false });
  cache?.remember(target, hash);
}

/** Rebuilds a directory from the store next to its target (every object checked), then swaps it in. */
export function materializeDir(root: string, hash: string, target: string, cache?: StatCache): void {
  mustCheck(root, hash, cache);
  const manifest = readManifest(root, hash);
  for (const f of manifest.files) mustCheck(root, f.hash, cache);
  const temp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(temp, { recursive: true });
  for (const f of manifest.files) copyFileAtomic(objectPath(root, f.hash), join(temp, f.path), { sync: false });
  const old = `${target}.old-${process.pid}`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(temp, target);
  rmSync(old, { recursive: true, force: true });
  if (cache) for (const f of manifest.files) cache.remember(join(target, f.path), f.hash);
}

/** Moves a freshly produced directory into place at a project path (replacing what was there). */
export function installDir(source: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const old = `${target}.old-${process.pid}`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(source, target);
  rmSync(old, { recursive: true, force: true });
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function runCachePath(root: string, key: string): string {
  const hex = key.slice(key.indexOf(':') + 1);
  return resolve(root, STORE_DIR, 'runs', hex.slice(0, 2), `${hex.slice(2)}.json`);
}
