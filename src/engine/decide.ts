// Deciding what to do with one stage, and restoring what can be restored. A stage is up to date when its lockfile
// entry has the stage's key and every output it records is intact (or can be repaired from an intact copy); it is
// restorable when a run-cache entry for its key checks out the same way; otherwise it must run. Nothing here trusts a
// byte it has not checked against the hash recorded for it: a damaged object is never served, only replaced.
import { readFileSync } from 'node:fs';
import { canonicalJson, unsealBytes, type StatCache } from './hash.js';
import { under } from './paths.js';
import type { Fingerprint, StaleReason } from './fingerprint.js';
import type { LockedOutput, LockedStage } from './lockfile-format.js';
import { checkDir, checkObject, hashDir, isDirectory, materializeDir, materializeFile, objectRelPath, putDir, putFile, runCachePath, type ObjectState } from './store.js';

export type Decision =
  /**
   * the lockfile entry has this key and its outputs are intact (or repairable from their readable copies); `intact`:
   * every store object checked out and every readable copy matched, so restoreOutputs would find nothing to do
   */
  | { action: 'up-to-date'; entry: LockedStage; repairs: string[]; intact: boolean }
  /** a run-cache entry has this key (an earlier run with the same code, params and inputs) */
  | { action: 'restore'; entry: LockedStage; reasons: StaleReason[]; repairs: string[]; intact: boolean }
  | { action: 'run'; reasons: StaleReason[] };

/** The state of one recorded output: the store object's, and whether the readable copy at its path matches. */
function outputState(root: string, out: LockedOutput, cache: StatCache): { object: ObjectState; copyMatches: boolean } {
  const target = under(root, out.path);
  let copy: string | undefined;
  try {
    copy = out.kind === 'dir' ? (isDirectory(target) ? hashDir(target, cache).hash : undefined) : cache.hashFile(target).hash;
  } catch {
    copy = undefined;
  }
  const object = out.kind === 'dir' ? checkDir(root, out.hash, cache) : checkObject(root, out.hash, cache);
  return { object, copyMatches: copy === out.hash };
}

/**
 * Read-only check of an entry's outputs: the repairs a run would make (an object re-stored from its intact readable
 * copy; none when every output is intact), and `intact` when every object checks out and every readable copy matches
 * (nothing for restoreOutputs to do); or the problem that forces a re-run.
 */
export function inspectOutputs(root: string, entry: LockedStage, cache: StatCache): { repairs: string[]; intact: boolean } | { problem: string } {
  const repairs: string[] = [];
  let intact = true;
  for (const [name, out] of Object.entries(entry.outs)) {
    const { object, copyMatches } = outputState(root, out, cache);
    if (!copyMatches) intact = false;
    if (object === 'ok') continue;
    intact = false;
    const what = object === 'missing' ? 'is missing from the store' : 'is damaged in the store (its bytes do not match its hash)';
    if (copyMatches) repairs.push(`output ${name} ${what}; it is re-stored from ${out.path}`);
    else return { problem: `output ${name} ${what}, and ${out.path} is not an intact copy` };
  }
  return { repairs, intact };
}

/**
 * Makes an entry's outputs whole: a damaged object is quarantined and re-stored from an intact readable copy, a
 * missing or differing readable copy is materialized from the (checked) store. Returns the problem when an output
 * cannot be restored (the stage must run), else undefined.
 */
export function restoreOutputs(root: string, entry: LockedStage, cache: StatCache, onRestore: (path: string) => void): string | undefined {
  for (const [name, out] of Object.entries(entry.outs)) {
    const target = under(root, out.path);
    const object = out.kind === 'dir' ? checkDir(root, out.hash, cache, { quarantine: true }) : checkObject(root, out.hash, cache, { quarantine: true });
    let copy: string | undefined;
    try {
      copy = out.kind === 'dir' ? (isDirectory(target) ? hashDir(target, cache).hash : undefined) : cache.hashFile(target).hash;
    } catch {
      copy = undefined;
    }
    if (object !== 'ok') {
      if (copy !== out.hash) return `output ${name} is ${object === 'missing' ? 'missing from' : 'damaged in'} the store (artifacts/) and ${out.path} is not an intact copy`;
      if (out.kind === 'dir') putDir(root, target, cache);
      else putFile(root, target, out.hash, cache);
      continue;
    }
    if (copy !== out.hash) {
      if (out.kind === 'dir') materializeDir(root, out.hash, target, cache);
      else materializeFile(root, out.hash, target, cache);
      onRestore(out.path);
    }
  }
  return undefined;
}

const HASH_TEXT = /^sha256:[0-9a-f]{64}$/;

function sameFiles(a: unknown, b: { path: string; hash: string }[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((f, i) => f !== null && typeof f === 'object' && f.path === b[i].path && f.hash === b[i].hash);
}

/**
 * Whether a recorded entry is what this fingerprint would record: same key, code, params, deps and inputs, and well
 * formed outputs. A run-cache entry that fails this (damaged, or from another engine) is ignored, never trusted.
 */
export function entryMatches(entry: unknown, fp: Fingerprint): entry is LockedStage {
  if (entry === null || typeof entry !== 'object') return false;
  const e = entry as Partial<LockedStage>;
  if (e.key !== fp.key || e.code?.hash !== fp.code.hash) return false;
  if (e.params === null || typeof e.params !== 'object' || canonicalJson(e.params) !== canonicalJson(fp.params)) return false;
  if (!sameFiles(e.deps, fp.deps)) return false;
  if (e.inputs === null || typeof e.inputs !== 'object') return false;
  const inputs = Object.entries(fp.inputs);
  if (Object.keys(e.inputs).length !== inputs.length) return false;
  for (const [name, input] of inputs) {
    const recorded = Object.hasOwn(e.inputs, name) ? e.inputs[name] : undefined;
    if (recorded?.hash !== input.hash || recorded?.from !== input.from) return false;
  }
  if (e.outs === null || typeof e.outs !== 'object' || e.run === null || typeof e.run !== 'object') return false;
  for (const out of Object.values(e.outs)) {
    if (out === null || typeof out !== 'object' || !['json', 'file', 'dir'].includes(out.kind) || typeof out.path !== 'string') return false;
    if (typeof out.hash !== 'string' || !HASH_TEXT.test(out.hash) || out.object !== objectRelPath(out.hash)) return false;
  }
  return true;
}

/** The run-cache entry for the fingerprint's key, when its seal and its content check out. */
export function readRunCache(root: string, fp: Fingerprint): LockedStage | undefined {
  if (fp.key === undefined) return undefined;
  let text: string | undefined;
  try {
    text = unsealBytes(readFileSync(runCachePath(root, fp.key)));
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as unknown;
    return entryMatches(entry, fp) ? entry : undefined;
  } catch {
    return undefined;
  }
}

function sameOuts(a: Record<string, LockedOutput>, b: Record<string, LockedOutput>): boolean {
  const names = Object.keys(b);
  return names.length === Object.keys(a).length && names.every((n) => Object.hasOwn(a, n) && a[n].kind === b[n].kind && a[n].hash === b[n].hash && a[n].path === b[n].path);
}

/**
 * What to do with a stage whose key is known. Read-only (status and dry runs use it as they are; a real run then
 * restores or runs), so the dry run and the real run can never disagree about a decision.
 */
export function decideStage(
  root: string,
  fp: Fingerprint,
  entry: LockedStage | undefined,
  /** why the stage differs from its lockfile entry (diffAgainstLock), or a function giving it: then called only when
   * the stage is not up to date (a no-op needs no diff) */
  reasons: StaleReason[] | (() => StaleReason[]),
  cache: StatCache,
  force: boolean,
  options: { lockfileTrusted?: boolean } = {},
): Decision {
  const given = () => (typeof reasons === 'function' ? reasons() : reasons);
  if (force) return { action: 'run', reasons: [{ component: 'forced', message: 'forced (--force)' }, ...given()] };
  const found: StaleReason[] = [];
  // A lockfile this engine wrote (or checked) and nobody touched since needs no cross-check (StatCache.lockfileTrusted)
  const crossCheck = entry !== undefined && entry.key === fp.key && !options.lockfileTrusted;
  let remembered: LockedStage | undefined | null = crossCheck ? readRunCache(root, fp) : null;
  const rememberedEntry = () => (remembered === null ? (remembered = readRunCache(root, fp)) : remembered);
  if (entry !== undefined && entry.key === fp.key) {
    if (!entryMatches(entry, fp)) {
      found.push({ component: 'declaration', message: 'the lockfile entry does not match its own key (edited or damaged); not trusted' });
    } else if (crossCheck && remembered !== undefined && remembered !== null && !sameOuts(entry.outs, remembered.outs)) {
      // The outputs are not part of the key: a lockfile edited by hand or torn by a merge can pair this key with
      // another run's outputs. The sealed run-cache entry written when the key last ran says which outputs it made.
      found.push({ component: 'output', message: 'the lockfile entry records other outputs than the run cache holds for its key (edited or merged by hand); not trusted' });
    } else {
      const outputs = inspectOutputs(root, entry, cache);
      if ('repairs' in outputs) return { action: 'up-to-date', entry, repairs: outputs.repairs, intact: outputs.intact };
      found.push({ component: 'output', message: outputs.problem });
    }
  }
  const why = [...given(), ...found];
  const fromRunCache = rememberedEntry();
  if (fromRunCache !== undefined) {
    const outputs = inspectOutputs(root, fromRunCache, cache);
    if ('repairs' in outputs) return { action: 'restore', entry: fromRunCache, reasons: why, repairs: outputs.repairs, intact: outputs.intact };
  }
  if (why.length === 0) why.push({ component: 'declaration', message: 'the stage declaration changed' });
  return { action: 'run', reasons: why };
}
