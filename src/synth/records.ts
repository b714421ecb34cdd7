// Record-level files of the synthetic dataset (docs/data-format.md, CONTRACTS §5), written as streams so that
// `--scale K` (K copies of every record, fresh ids and record details) runs in bounded memory.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { FOREIGN_PARTNERS, OUTLIER, YEARS } from './calibration.js';
import type { Core } from './dgp.js';
import { Rng } from '../stats/random.js';

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const line = (fields: (string | number)[]): string => fields.map(csvField).join(',') + '\n';

/** Batches lines into ~64 KiB chunks (one stream write per chunk, not per line). */
async function* chunked(lines: Iterable<string>): AsyncGenerator<string> {
  let buffer = '';
  for (const l of lines) {
    buffer += l;
    if (buffer.length >= 65536) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}

/**
 * Writes lines to `path`, gzipped when the name ends in .gz; backpressure is handled by stream.pipeline.
 * gzip level 9 keeps the embedded dataset small; large scaled datasets use zlib's default level 6 (faster).
 */
export async function writeLines(path: string, lines: Iterable<string>, gzipLevel = 9): Promise<void> {
  const source = Readable.from(chunked(lines));
  if (path.endsWith('.gz')) await pipeline(source, createGzip({ level: gzipLevel }), createWriteStream(path));
  else await pipeline(source, createWriteStream(path));
}

const NANO_MATERIALS = [
  'titanium dioxide', 'silver', 'zinc oxide', 'silica', 'calcium carbonate', 'carbon tube', 'iron oxide', 'copper',
  'cerium oxide', 'alumina', 'hydroxyapatite', 'gold', 'zirconia', 'nickel', 'clay', 'cellulose', 'selenium', 'graphite',
];
const NANO_TITLES = [
  (m: string) => `Preparation method of nano ${m} powder`,
  (m: string) => `${m[0].toUpperCase()}${m.slice(1)} nanoparticles and their use in coatings`,
  (m: string) => `Nano-${m} composite material and production process thereof`,
  (m: string) => `Antibacterial fabric finished with nano ${m}`,
  (m: string) => `Method for dispersing ${m} nanopowder in polymer`,
  (m: string) => `Lubricating oil additive containing nano ${m}`,
  (m: string) => `${m[0].toUpperCase()}${m.slice(1)} nanowire array and its synthesis`,
];
/** Titles a broad query returns without "nano" in them (dropped by ingest's nano_pattern). */
const OTHER_TITLES = [
  (m: string) => `Ultrafine ${m} powder and grinding device`,
  (m: string) => `Micron-scale ${m} filler for rubber`,
  (m: string) => `Thin film of ${m} deposited by sputtering`,
  (m: string) => `Colloidal ${m} dispersion for polishing`,
];
const APPLICANT_KINDS = ['University', 'Institute', 'Co. Ltd', 'Individual'];
const GRANT_TITLES = [
  (m: string) => `Controlled synthesis and properties of nano ${m}`,
  (m: string) => `Interface mechanisms of ${m} nanostructures`,
  (m: string) => `Nanoscale ${m} for energy conversion`,
  (m: string) => `Toxicology of engineered ${m} nanoparticles`,
  (m: string) => `Self-assembly of ${m} nanocrystals`,
];

/** Synthetic applicant of a region: a Zipf-ranked pool (rank k has weight 1/k), so big applicants exist but none dominates. */
function applicantName(regionName: string, rank: number): string {
  return `${regionName} ${APPLICANT_KINDS[rank % APPLICANT_KINDS.length]} ${String(rank).padStart(4, '0')} (synthetic)`;
}

/** Zipf rank in 1..pool by inversion of the harmonic cumulative distribution (approximate, continuous). */
function zipfRank(rng: Rng, pool: number): number {
  // P(rank ≤ k) ≈ ln(k + 1) / ln(pool + 1)
  return Math.min(pool, Math.floor(Math.exp(rng.uniform() * Math.log(pool + 1))));
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];

/** patents.csv(.gz): nano patents, the query's non-nano titles and the outlier's filings, shuffled within a year. */
export function* patentLines(core: Core, scale: number, seed: number): Generator<string> {
  const rng = Rng.fromSeed(seed, 'records/patents');
  yield line(['application_id', 'year', 'region', 'applicant', 'title']);
  const n = core.regions.length;
  for (let t = 0; t < YEARS.length; t++) {
    const year = YEARS[t];
    // entries: region index × 3 + kind (0 nano, 1 non-nano title, 2 outlier)
    const counts: number[] = [];
    for (let i = 0; i < n; i++) counts.push(core.nanoPatents[t][i] * scale, core.falsePositives[t][i] * scale, core.outlierFilings[t][i] * scale);
    const total = counts.reduce((a, b) => a + b, 0);
    const entries = new Uint16Array(total);
    let k = 0;
    counts.forEach((c, code) => entries.fill(code, k, (k += c)));
    for (let m = total - 1; m > 0; m--) {
      const r = rng.int(m + 1);
      const tmp = entries[m];
      entries[m] = entries[r];
      entries[r] = tmp;
    }
    for (let m = 0; m < total; m++) {
      const i = Math.floor(entries[m] / 3);
      const kind = entries[m] % 3;
      const region = core.regions[i];
      const material = pick(rng, NANO_MATERIALS);
      const applicant = kind === 2 ? OUTLIER.applicant : applicantName(region.name, zipfRank(rng, 40 + Math.round(core.nanoPatents[t][i] / 3)));
      const title = kind === 1 ? pick(rng, OTHER_TITLES)(material) : pick(rng, NANO_TITLES)(material);
      yield line([`SYN-PAT-${year}-${String(m + 1).padStart(7, '0')}`, year, region.code, applicant, title]);
    }
  }
}

/** publications.csv(.gz): the drawn publications (scale K: K copies with their own ids). */
export function* publicationLines(core: Core, scale: number): Generator<string> {
  yield line(['id', 'year', 'regions', 'countries']);
  for (let t = 0; t < YEARS.length; t++) {
    const year = YEARS[t];
    let seq = 0;
    for (let copy = 0; copy < scale; copy++) {
      for (const p of core.publications[t]) {
        seq += 1;
        yield line([
          `SYN-PUB-${year}-${String(seq).padStart(7, '0')}`,
          year,
          p.regions.map((i) => core.regions[i].code).join(';'),
          p.partners.map((k) => FOREIGN_PARTNERS[k]).join(';'),
        ]);
      }
    }
  }
}

/** funding.csv(.gz): one row per grant, amount in 万元. */
export function* grantLines(core: Core, scale: number, seed: number): Generator<string> {
  const rng = Rng.fromSeed(seed, 'records/grants');
  yield line(['grant_id', 'year', 'region', 'amount', 'title']);
  for (let t = 0; t < YEARS.length; t++) {
    const year = YEARS[t];
    let seq = 0;
    for (let copy = 0; copy < scale; copy++) {
      for (let i = 0; i < core.regions.length; i++) {
        for (const amount of core.grants[t][i]) {
          seq += 1;
          const title = pick(rng, GRANT_TITLES)(pick(rng, NANO_MATERIALS));
          yield line([`SYN-NSFC-${year}-${String(seq).padStart(6, '0')}`, year, core.regions[i].code, amount, title]);
        }
      }
    }
  }
}

/** regions.csv: the real codes, names, capitals and coordinates. */
export function* regionLines(core: Core): Generator<string> {
  yield line(['code', 'name', 'capital', 'lat', 'lon']);
  for (const r of core.regions) yield line([r.code, r.name, r.capital, r.lat.toFixed(4), r.lon.toFixed(4)]);
}

/** region_year.csv: real GDP, synthetic population, R&D and totals (totals × K at scale K). */
export function* regionYearLines(core: Core, scale: number): Generator<string> {
  yield line(['region', 'year', 'gdp', 'population', 'rd_expenditure', 'patents_total', 'publications_total']);
  for (let i = 0; i < core.regions.length; i++) {
    for (let t = 0; t < YEARS.length; t++) {
      const r = core.regions[i];
      yield line([r.code, YEARS[t], core.gdp[t][i], core.population[t][i], core.rd[t][i].toFixed(2), core.patentsTotal[t][i] * scale, core.publicationsTotal[t][i] * scale]);
    }
  }
}
