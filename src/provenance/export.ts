// `spillway export DIR`: a self-contained replication package. It holds the lockfile, the pipeline, the code and
// schemas the lockfile names, every output (readable copy and store object), the raw-input checksums (and with
// --with-data the raw files), laid out at the same relative paths as in the project so that `spillway audit` run
// inside the package verifies it. Two provenance records describe it: ro-crate-metadata.json and prov.json.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SpillwayError } from '../errors.js';
import type { Lockfile } from '../engine/lockfile-format.js';
import { auditLock, isFailing, type AuditOptions, type AuditReport } from './audit.js';
import { buildProvJson, packageNamespace } from './prov-json.js';
import { dirFilePath, hashFileLike, listFiles, objectRelPath, readLock, resolveInProject, sha256Hex, splitHash, type Project } from './project.js';
import { buildRoCrate, type PackagedFile } from './ro-crate.js';

/** Written into every package; `spillway audit` reads it to know that raw inputs may be absent by design. */
export const PACKAGE_MANIFEST = 'spillway-package.json';
export const RAW_CHECKSUMS = 'raw-inputs.sha256';
export const CRATE_METADATA = 'ro-crate-metadata.json';
export const PROV_JSON = 'prov.json';

export interface PackageManifest {
  spillway_package: 1;
  created: string;
  with_data: boolean;
  spillway_version: string;
  lockfile: string;
  pipeline: string;
}

export interface ExportOptions {
  withData?: boolean;
  /** export even when audit finds stale stages (never when artifacts are missing or corrupted) */
  allowStale?: boolean;
  /** what audit knows of the current pipeline (params, dep globs, code files), when it loads */
  pipeline?: AuditOptions['pipeline'];
  spillwayVersion: string;
  /**
   * The root of the running spillway package. When given, the package is made installable on its own: spillway is
   * packed into vendor/spillway-<version>.tgz, package.json depends on it and pins the npm packages the stages
   * imported at the versions the lockfile records, and package-lock.json (the project's, reconciled by npm) locks
   * the rest, so `npm ci` inside the package installs the recorded versions. Needs npm (it packs and locks).
   */
  spillwayRoot?: string;
  /** fixed timestamp (tests); default now */
  now?: Date;
}

export interface ExportReport {
  dir: string;
  with_data: boolean;
  files: number;
  bytes: number;
  raw_inputs: { path: string; sha256: string; size: number; included: boolean }[];
  ro_crate: string;
  prov_json: string;
  audit: { ok: boolean; findings: number };
}

interface Planned {
  /** project-relative source */
  from: string;
  /** recorded hash to verify the copy against, when the lockfile records one */
  hash?: string;
}

export async function exportPackage(project: Project, outDir: string, options: ExportOptions): Promise<ExportReport> {
  const lock = await readLock(project);
  const target = path.resolve(outDir);
  await ensureEmptyTarget(project, target);

  // 1. The project must match its lockfile: a package of corrupted or stale results would certify the wrong numbers.
  const auditReport = await auditLock(project, lock, { pipeline: options.pipeline });
  refuseUnlessSound(auditReport, options.allowStale ?? false);

  // 2. What goes in, each file at its project path.
  const plan = new Map<string, Planned>();
  const put = (from: string, hash?: string) => {
    if (!plan.has(from)) plan.set(from, { from, hash });
  };
  const lockRel = path.relative(project.root, project.lockfilePath).split(path.sep).join('/');
  put(lockRel);
  // the pipeline file as it is now: with --allow-stale it may differ from the one the lockfile's runs used
  put(lock.pipeline.path);
  const rawInputs = new Map<string, { path: string; hash: string; size: number }>();
  for (const stage of Object.values(lock.stages)) {
    for (const f of stage.code.files) put(f.path, f.hash);
    for (const out of Object.values(stage.outs)) {
      if (out.schema) for (const file of [out.schema, ...(out.schema.refs ?? [])]) put(file.path, file.hash);
      if (out.kind === 'dir') {
        put(out.object, out.hash);
        for (const f of out.files ?? []) {
          put(dirFilePath(out, f.path), f.hash);
          put(objectRelPath(f.hash), f.hash);
        }
      } else {
        put(out.path, out.hash);
        put(out.object, out.hash);
      }
    }
    for (const dep of stage.deps) rawInputs.set(dep.path, dep);
  }
  if (options.withData) {
    for (const dep of rawInputs.values()) {
      // a directory dep (recorded with a trailing slash): its files; audit in the package re-checks the dir's hash
      if (dep.path.endsWith('/')) for (const f of await listFiles(resolveInProject(project.root, dep.path))) put(`${dep.path}${f}`);
      else put(dep.path, dep.hash);
    }
  }
  // what a replicator needs to install the same dependencies and type-check the stages (an installable package
  // writes its own package.json and lock below instead of the project's)
  for (const extra of options.spillwayRoot ? ['tsconfig.json'] : ['package.json', 'package-lock.json', 'tsconfig.json']) {
    try {
      if ((await stat(path.join(project.root, extra))).isFile()) put(extra);
    } catch {
      /* not in this project */
    }
  }

  // 3. Copy, verifying every copy against the hash the lockfile records.
  const files = new Map<string, PackagedFile>();
  let bytes = 0;
  for (const item of [...plan.values()].sort((a, b) => a.from.localeCompare(b.from))) {
    const source = resolveInProject(project.root, item.from);
    const destination = path.join(target, item.from);
    await mkdir(path.dirname(destination), { recursive: true });
    await copyFile(source, destination);
    if (item.hash) {
      const copied = await hashFileLike(destination, item.hash);
      if (copied !== item.hash) {
        throw new SpillwayError('auditFailed', `${item.from} changed while it was being exported`, {
          file: item.from, expected: item.hash, hint: 'run the export again once nothing else writes to the project',
        });
      }
    }
    const size = (await stat(destination)).size;
    bytes += size;
    files.set(item.from, { path: item.from, sha256: await sha256OfRecorded(destination, item.hash), size });
  }

  // 3b. The means to install and re-run it: spillway itself, a package.json and a lockfile.
  if (options.spillwayRoot) {
    for (const written of await writeInstallable(project, target, lock, options.spillwayRoot, options.withData ?? false)) {
      const size = (await stat(path.join(target, written))).size;
      bytes += size;
      files.set(written, { path: written, sha256: await sha256Hex(path.join(target, written)), size });
    }
  }

  // 4. Raw-input checksums in sha256sum format, so they can be checked without spillway (`sha256sum -c`).
  const raw = [...rawInputs.values()].sort((a, b) => a.path.localeCompare(b.path));
  const rawSha = new Map<string, string>();
  for (const dep of raw) rawSha.set(dep.path, splitHash(dep.hash).algorithm === 'sha256' ? splitHash(dep.hash).digest : await sha256Hex(resolveInProject(project.root, dep.path)));
  let checksums = '';
  for (const dep of raw) {
    if (!dep.path.endsWith('/')) {
      checksums += `${rawSha.get(dep.path)}  ${dep.path}\n`;
      continue;
    }
    // sha256sum checks files: a directory dep is listed file by file
    const dir = resolveInProject(project.root, dep.path);
    for (const f of await listFiles(dir)) checksums += `${await sha256Hex(path.join(dir, f))}  ${dep.path}${f}\n`;
  }
  await writeFile(path.join(target, RAW_CHECKSUMS), checksums);
  files.set(RAW_CHECKSUMS, { path: RAW_CHECKSUMS, sha256: await sha256Hex(path.join(target, RAW_CHECKSUMS)), size: Buffer.byteLength(checksums) });

  const now = (options.now ?? new Date()).toISOString();
  const manifest: PackageManifest = {
    spillway_package: 1, created: now, with_data: options.withData ?? false, spillway_version: options.spillwayVersion,
    lockfile: lockRel, pipeline: lock.pipeline.path,
  };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(path.join(target, PACKAGE_MANIFEST), manifestText);
  files.set(PACKAGE_MANIFEST, { path: PACKAGE_MANIFEST, sha256: await sha256Hex(path.join(target, PACKAGE_MANIFEST)), size: Buffer.byteLength(manifestText) });

  // 5. The provenance records.
  const absentRaw: PackagedFile[] = options.withData ? [] : raw.map((d) => ({ path: d.path, sha256: rawSha.get(d.path)!, size: d.size }));
  const pkg = await projectPackageJson(project);
  const lockBytes = await readFile(project.lockfilePath);
  const prov = buildProvJson(lock, { namespace: packageNamespace(lockBytes), files: new Map(files), absentRaw });
  const provText = `${JSON.stringify(prov, null, 2)}\n`;
  await writeFile(path.join(target, PROV_JSON), provText);
  files.set(PROV_JSON, { path: PROV_JSON, sha256: await sha256Hex(path.join(target, PROV_JSON)), size: Buffer.byteLength(provText) });

  const crate = buildRoCrate({
    lock, files, absentRaw,
    name: `${pkg.name ?? path.basename(project.root)} replication package`,
    description: describe(lock, pkg.description, options.withData ?? false),
    license: pkg.license ?? '',
    datePublished: now,
    spillwayVersion: options.spillwayVersion,
  });
  await writeFile(path.join(target, CRATE_METADATA), `${JSON.stringify(crate, null, 2)}\n`);

  return {
    dir: target,
    with_data: options.withData ?? false,
    files: files.size + 1,
    bytes,
    raw_inputs: raw.map((d) => ({ path: d.path, sha256: rawSha.get(d.path)!, size: d.size, included: options.withData ?? false })),
    ro_crate: path.join(target, CRATE_METADATA),
    prov_json: path.join(target, PROV_JSON),
    audit: { ok: auditReport.ok, findings: auditReport.findings.length },
  };
}

async function sha256OfRecorded(file: string, recorded?: string): Promise<string> {
  if (recorded && splitHash(recorded).algorithm === 'sha256') return splitHash(recorded).digest;
  return sha256Hex(file);
}

async function ensureEmptyTarget(project: Project, target: string): Promise<void> {
  if (path.relative(project.root, target) === '') {
    throw new SpillwayError('usage', 'cannot export into the project root itself', { hint: 'name a new directory, e.g. `spillway export ../replication`' });
  }
  try {
    const entries = await readdir(target);
    if (entries.length > 0) {
      throw new SpillwayError('usage', `export directory ${target} is not empty`, { hint: 'name a new or empty directory; export never overwrites files' });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
}

function refuseUnlessSound(report: AuditReport, allowStale: boolean): void {
  const failing = report.findings.filter(isFailing);
  const broken = failing.filter((f) => f.kind === 'missing' || f.kind === 'corrupted');
  const blocking = allowStale ? broken : failing;
  if (blocking.length === 0) return;
  const list = blocking.slice(0, 5).map((f) => f.message).join('; ');
  throw new SpillwayError('auditFailed', `the project does not match its lockfile, so it cannot be exported: ${list}${blocking.length > 5 ? ` (and ${blocking.length - 5} more)` : ''}`, {
    hint: broken.length
      ? 'run `spillway audit` for details; `spillway run --force` rebuilds missing or corrupted artifacts'
      : 'run `spillway run` to bring the stale stages up to date, or pass --allow-stale to export the recorded results as they are',
    context: { findings: blocking },
  });
}

async function projectPackageJson(project: Project): Promise<{ name?: string; description?: string; license?: string }> {
  try {
    return JSON.parse(await readFile(path.join(project.root, 'package.json'), 'utf8')) as { name?: string; description?: string; license?: string };
  } catch {
    return {};
  }
}

function describe(lock: Lockfile, projectDescription: string | undefined, withData: boolean): string {
  const stages = Object.keys(lock.stages).length;
  return [
    projectDescription ? `${projectDescription}.` : '',
    `Replication package exported by spillway: the pipeline, the code of its ${stages} stage(s), their recorded runs (pipeline.lock) and every output, each with its SHA-256.`,
    withData ? 'The raw input files are included.' : `The raw input files are not included; their checksums are in ${RAW_CHECKSUMS}.`,
    'Run `spillway audit` in this directory to verify every file against the lockfile.',
  ].filter(Boolean).join(' ');
}

// ---------- an installable package ----------

export const VENDOR_DIR = 'vendor';
export const REPLICATION_README = 'REPLICATION.md';

function npm(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new SpillwayError('internal', `npm ${args.join(' ')} failed while making the package installable: ${stderr.trim().split('\n').slice(-3).join(' ') || error.message}`, {
            hint: 'export needs npm, and the packages the project uses in npm\'s cache or reachable in the registry',
          }),
        );
      } else resolve(stdout);
    });
  });
}

/**
 * Writes vendor/spillway-<version>.tgz, package.json, package-lock.json and REPLICATION.md into the package; returns
 * their package paths. package.json pins, at the versions the lockfile recorded, every npm package a stage imported.
 */
async function writeInstallable(project: Project, target: string, lock: Lockfile, spillwayRoot: string, withData: boolean): Promise<string[]> {
  const spillwayPkg = JSON.parse(await readFile(path.join(spillwayRoot, 'package.json'), 'utf8')) as { name: string; version: string; engines?: Record<string, string> };
  const vendor = path.join(target, VENDOR_DIR);
  await mkdir(vendor, { recursive: true });
  // --ignore-scripts: pack the compiled package as it is installed; never run a build here
  const packed = JSON.parse(await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', vendor, spillwayRoot], target)) as { filename: string }[];
  const tarball = `${VENDOR_DIR}/${packed[0].filename}`;

  const recorded = new Map<string, string>();
  for (const stage of Object.values(lock.stages)) {
    for (const [name, version] of Object.entries(stage.code.packages ?? {})) {
      if (name === spillwayPkg.name || version === 'missing' || version === 'unknown') continue;
      const before = recorded.get(name);
      if (before !== undefined && before !== version) {
        throw new SpillwayError('auditFailed', `the lockfile records two versions of npm package ${name} (${before}, ${version})`, {
          hint: 'run `spillway run` so that every stage records the installed version, then export again',
        });
      }
      recorded.set(name, version);
    }
  }
  const projectPkg = await projectPackageJson(project);
  const name = `${(projectPkg.name ?? path.basename(project.root)).replace(/^@[^/]+\//, '')}-replication`.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  const pkg = {
    name,
    version: '1.0.0',
    private: true,
    description: `Replication package of ${projectPkg.name ?? path.basename(project.root)}, exported by spillway ${spillwayPkg.version}: see ${REPLICATION_README}`,
    type: 'module',
    ...(projectPkg.license ? { license: projectPkg.license } : {}),
    engines: spillwayPkg.engines ?? { node: '>=20.0.0' },
    scripts: { audit: 'spillway audit', reproduce: 'spillway run --force' },
    dependencies: Object.fromEntries([[spillwayPkg.name, `file:${tarball}`], ...[...recorded].sort(([a], [b]) => a.localeCompare(b))]),
  };
  await writeFile(path.join(target, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  // The project's package-lock keeps every package it locked at that version; npm reconciles it with the new
  // package.json (drops what is no longer needed, locks the vendored spillway) without installing anything.
  try {
    await copyFile(path.join(project.root, 'package-lock.json'), path.join(target, 'package-lock.json'));
  } catch {
    /* no lockfile in the project: npm resolves one from the pinned versions */
  }
  await npm(['install', '--package-lock-only', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], target);
  await rm(path.join(target, 'node_modules'), { recursive: true, force: true });

  const readme = [
    `# Replication package: ${projectPkg.name ?? path.basename(project.root)}`,
    '',
    `Exported by spillway ${spillwayPkg.version} on ${new Date().toISOString().slice(0, 10)}. Needs Node ${pkg.engines.node ?? '>=20'} and npm, nothing else.`,
    '',
    '```sh',
    `npm ci                                  # installs spillway (${tarball}) and the recorded package versions`,
    './node_modules/.bin/spillway audit      # every file against pipeline.lock: code, params, outputs, package versions',
    ...(withData
      ? ['./node_modules/.bin/spillway run --force   # re-runs every stage from the raw data: the same output hashes', './node_modules/.bin/spillway audit']
      : ['# the raw data is not included: put each file of raw-inputs.sha256 at its path, check it with', 'sha256sum -c raw-inputs.sha256', './node_modules/.bin/spillway run --force   # then re-run every stage: the same output hashes']),
    '```',
    '',
    '`pipeline.lock` records, for every stage, its code files, params, inputs and outputs with their hashes;',
    '`ro-crate-metadata.json` (RO-Crate) and `prov.json` (W3C PROV) describe the same in standard vocabularies.',
    '`spillway lineage OUTPUT` prints what an output was made from. `npm run audit` and `npm run reproduce` are',
    'shortcuts for the commands above.',
    '',
  ].join('\n');
  await writeFile(path.join(target, REPLICATION_README), readme);
  return [tarball, 'package.json', 'package-lock.json', REPLICATION_README];
}
