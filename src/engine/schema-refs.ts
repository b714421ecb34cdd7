// The other local files an output schema refers to ("$ref": "common.schema.json#/definitions/count"), transitively.
// They enter the stage's key beside the schema itself, so that an edit to one of them checks the outputs again, and
// they are recorded in the lockfile, audited and exported with it. Read once per version of each file: the stat
// cache keeps a schema's references beside its hash, as it keeps a code file's imports.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpillwayError } from '../errors.js';
import type { StatCache } from './hash.js';
import { relativeUnder, under } from './paths.js';

export interface SchemaRef {
  /** project-relative path (with ../ when outside the project) */
  path: string;
  hash: string;
}

/** A URI with a scheme (https:, urn:) other than file: (which ajv loads, as it does relative references): not a local file. */
const SCHEME = /^(?!file:)[A-Za-z][A-Za-z0-9+.-]*:/i;

/** Keywords whose value is data (an instance), never a schema: a {"$ref": …} inside is no reference. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);
/** Keywords whose value maps names (property names, definition names) to subschemas: the names are not keywords. */
const NAMED_SCHEMAS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas', 'dependencies']);

/** The "$ref" targets in a parsed schema that are other files: not "#…" (within it) nor URIs; fragments cut. */
export function localRefs(schema: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const target = value.split('#')[0] as string;
        if (target !== '' && !SCHEME.test(target)) found.add(target);
      } else if (DATA_KEYWORDS.has(key)) {
        continue; // data: ajv compares instances with it, it loads nothing from it
      } else if (NAMED_SCHEMAS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const sub of Object.values(value)) walk(sub); // a property called "const" or "$ref" is a subschema
      } else walk(value);
    }
  };
  // a schema with an $id resolves relative references against that URI, not against its file
  if (schema !== null && typeof schema === 'object' && typeof (schema as { $id?: unknown }).$id === 'string') return [];
  walk(schema);
  return [...found].sort();
}

/**
 * Every local file the schema at `schemaPath` (project-relative) refers to, directly or through another, with its
 * content hash, sorted by path; empty for a schema without such references. A reference to a missing file is an
 * error naming both files: the schema could not be compiled (or, given `onMissing`, reported to it and left out).
 */
export function schemaRefs(root: string, schemaPath: string, cache: StatCache, onMissing?: (abs: string) => void): SchemaRef[] {
  const top = under(root, schemaPath);
  const seen = new Map<string, string>([[top, '']]);
  const reported = new Set<string>();
  const visit = (abs: string, hash: string) => {
    const rel = relativeUnder(root, abs);
    let refs = cache.getSchemaRefs(rel, hash);
    if (refs === undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(abs, 'utf8'));
      } catch {
        parsed = undefined; // not JSON: compiling the schema says so, with its own message
      }
      refs = localRefs(parsed);
      cache.setSchemaRefs(rel, hash, refs);
    }
    for (const ref of refs) {
      // the file ajv loads for it: the URI resolved against the schema's file: URL, without query and fragment
      let target: string;
      try {
        const url = new URL(ref, pathToFileURL(abs));
        if (url.protocol !== 'file:') continue;
        url.search = '';
        url.hash = '';
        target = fileURLToPath(url);
      } catch {
        continue; // no file path (a %2F, a host): ajv cannot load it either, and compiling the schema says so
      }
      if (seen.has(target)) continue;
      const isFile = fileKind(target);
      if (isFile !== true) {
        // watch mode: a file to watch for (its creation is the fix), the other references still followed
        if (onMissing !== undefined) {
          if (!reported.has(target)) onMissing(target);
          reported.add(target);
          continue;
        }
        throw new SpillwayError('invalidPipeline', `schema ${rel} refers to ${ref}, which ${isFile === undefined ? 'does not exist' : 'is not a file'} (${relativeUnder(root, target)})`, {
          file: rel,
          hint: isFile === undefined ? 'create the referenced schema file, or fix the "$ref"' : 'put the referenced schema file there, or fix the "$ref"',
        });
      }
      const targetHash = cache.hashFile(target).hash;
      seen.set(target, targetHash);
      visit(target, targetHash);
    }
  };
  visit(top, cache.hashFile(top).hash);
  seen.delete(top);
  return [...seen].map(([abs, hash]) => ({ path: relativeUnder(root, abs), hash })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** true for a file, false for anything else there (a directory), undefined for nothing (or nothing reachable). */
function fileKind(path: string): boolean | undefined {
  try {
    return statSync(path).isFile();
  } catch {
    return undefined;
  }
}
