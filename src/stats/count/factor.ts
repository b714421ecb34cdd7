// Factor expansion into indicator columns named like Stata's factor variables (`2001.year`, base level omitted).

export interface ExpandedFactor {
  /** one indicator column per non-base level: columns[j][i] is 1 when observation i has level levels[j] */
  columns: number[][];
  /** Stata-style names, `<level>.<factor>` */
  names: string[];
  /** the omitted base level, named like Stata's table row `2000b.year` */
  base: string;
  /** every level, sorted (numerically when all levels are numbers) */
  levels: string[];
}

/**
 * Indicator columns for the levels of a factor, leaving out a base level (default: the smallest level, as Stata's `i.`).
 * `name` is the factor's name used in the column names (default `factor`).
 */
export function expandFactor(
  values: ArrayLike<string | number>,
  options: { name?: string; base?: string | number } = {},
): ExpandedFactor {
  const name = options.name ?? 'factor';
  const keys = Array.from(values, (v) => String(v));
  const distinct = [...new Set(keys)];
  const numeric = distinct.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  const levels = numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
  const base = options.base === undefined ? levels[0] : String(options.base);
  if (!levels.includes(base)) {
    throw new RangeError(`expandFactor: base level "${base}" is not a level of ${name} (levels: ${levels.join(', ')})`);
  }
  const kept = levels.filter((level) => level !== base);
  const index = new Map(kept.map((level, j) => [level, j]));
  const columns = kept.map(() => new Array<number>(keys.length).fill(0));
  keys.forEach((key, i) => {
    const j = index.get(key);
    if (j !== undefined) columns[j][i] = 1;
  });
  return { columns, names: kept.map((level) => `${level}.${name}`), base: `${base}b.${name}`, levels };
}
