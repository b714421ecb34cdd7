// Special functions for the count-model likelihoods: log-gamma, digamma, trigamma, their accurate differences
// for an integer increment, and the normal tail probability for p-values.
//
// References: Abramowitz & Stegun (1964) 6.1.40 (Stirling series for ln Γ), 6.3.18 (asymptotic ψ), 6.4.12 (asymptotic ψ′),
// 6.1.15 / 6.3.5 / 6.4.6 (recurrences); W. J. Cody (1969), "Rational Chebyshev approximations for the error function",
// Math. Comp. 23, 631-638, coefficients as in netlib specfun CALERF (the algorithm R's pnorm uses).

const HALF_LN_2PI = 0.91893853320467274178;
/** below this the asymptotic series is not used; the recurrences shift the argument up to it */
const ASYMPTOTIC_FROM = 15;
/** increments up to this are summed exactly when the base argument is below ASYMPTOTIC_FROM */
const EXACT_SUM_UP_TO = 64;

/** Σ c[k]·r2^k by Horner's rule. */
function series(c: readonly number[], r2: number): number {
  let sum = 0;
  for (let k = c.length - 1; k >= 0; k--) sum = sum * r2 + c[k];
  return sum;
}

// Bernoulli-number coefficients B2k/(2k(2k-1)), -B2k/(2k), B2k (k = 1..7)
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156];
const DIGAMMA = [-1 / 12, 1 / 120, -1 / 252, 1 / 240, -1 / 132, 691 / 32760, -1 / 12];
const TRIGAMMA = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6];
const TRIGAMMA_BEYOND_CUBE = TRIGAMMA.slice(1);

/** Stirling-series remainder of ln Γ(x) beyond (x-1/2)ln x - x + ln√(2π), for x ≥ 15 (A&S 6.1.40, Bernoulli terms B2..B14). */
function stirlingTail(x: number): number {
  return series(STIRLING, 1 / (x * x)) / x;
}

/** ψ(x) - ln x + 1/(2x) for x ≥ 15 (A&S 6.3.18). */
function digammaTail(x: number): number {
  const r2 = 1 / (x * x);
  return r2 * series(DIGAMMA, r2);
}

/** ψ′(x) - 1/x - 1/(2x²) for x ≥ 15 (A&S 6.4.12). */
function trigammaTail(x: number): number {
  const r2 = 1 / (x * x);
  return (r2 / x) * series(TRIGAMMA, r2);
}

/** The part of trigammaTail beyond its first term 1/(6x³). */
function trigammaTailBeyondCube(x: number): number {
  const r2 = 1 / (x * x);
  return ((r2 * r2) / x) * series(TRIGAMMA_BEYOND_CUBE, r2);
}

/** ln Γ(x) for x > 0 (Stirling series above 15, upward recurrence Γ(x+1) = xΓ(x) below). */
export function lnGamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  if (x >= ASYMPTOTIC_FROM) return (x - 0.5) * Math.log(x) - x + HALF_LN_2PI + stirlingTail(x);
  let product = 1;
  if (Number.isInteger(x)) {
    // ln (x-1)! from an exact integer product (13! < 2^53), so ln Γ(1) = ln Γ(2) = 0 exactly
    for (let k = 2; k < x; k++) product *= k;
    return Math.log(product);
  }
  let z = x;
  while (z < ASYMPTOTIC_FROM) product *= z++;
  return (z - 0.5) * Math.log(z) - z + HALF_LN_2PI + stirlingTail(z) - Math.log(product);
}

/** ln Γ(k + 1) of the counts 0 .. 1023 once each (a panel repeats the same small counts), the same bits as lnGamma */
const LN_FACTORIAL = new Float64Array(1024).fill(NaN);

/** ln k! = ln Γ(k + 1); counts below 1024 from a table filled on first use */
export function lnFactorial(k: number): number {
  if (k >= 0 && k < 1024 && Number.isInteger(k)) {
    let value = LN_FACTORIAL[k];
    if (value !== value) value = LN_FACTORIAL[k] = lnGamma(k + 1);
    return value;
  }
  return lnGamma(k + 1);
}

/** Digamma ψ(x) = d ln Γ(x)/dx for x > 0 (A&S 6.3.18 with the recurrence ψ(x+1) = ψ(x) + 1/x). */
export function digamma(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  let shift = 0;
  let z = x;
  while (z < ASYMPTOTIC_FROM) shift += 1 / z++;
  return Math.log(z) - 0.5 / z + digammaTail(z) - shift;
}

/** Trigamma ψ′(x) for x > 0 (A&S 6.4.12 with the recurrence ψ′(x+1) = ψ′(x) - 1/x²). */
export function trigamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  let shift = 0;
  let z = x;
  while (z < ASYMPTOTIC_FROM) {
    shift += 1 / (z * z);
    z++;
  }
  return 1 / z + 0.5 / (z * z) + trigammaTail(z) + shift;
}

/**
 * ln Γ(a + y) - ln Γ(a) for a > 0 and a non-negative integer y, accurate when a ≫ y (where the naive difference of two
 * huge numbers loses every digit): exact ln ∏(a+k) for small a and y, the difference of Stirling series for large a.
 */
export function lnGammaDiff(a: number, y: number): number {
  if (y === 0) return 0;
  if (a >= ASYMPTOTIC_FROM) {
    const b = a + y;
    return (a - 0.5) * Math.log1p(y / a) + y * Math.log(b) - y + (stirlingTail(b) - stirlingTail(a));
  }
  if (y <= EXACT_SUM_UP_TO) {
    // ∏ of at most 64 factors below 79: no overflow; underflow impossible since the first factor a is the smallest
    let product = 1;
    for (let k = 0; k < y; k++) product *= a + k;
    return Math.log(product);
  }
  return lnGamma(a + y) - lnGamma(a);
}

/** ψ(a + y) - ψ(a) for a > 0 and a non-negative integer y (exact Σ 1/(a+k), or the asymptotic difference for large a). */
export function digammaDiff(a: number, y: number): number {
  if (y === 0) return 0;
  if (a >= ASYMPTOTIC_FROM) {
    const b = a + y;
    return Math.log1p(y / a) + (0.5 * y) / (a * b) + (digammaTail(b) - digammaTail(a));
  }
  if (y <= EXACT_SUM_UP_TO) {
    let sum = 0;
    for (let k = 0; k < y; k++) sum += 1 / (a + k);
    return sum;
  }
  return digamma(a + y) - digamma(a);
}

/** ψ′(a + y) - ψ′(a) (≤ 0) for a > 0 and a non-negative integer y (exact -Σ 1/(a+k)², or the asymptotic difference). */
export function trigammaDiff(a: number, y: number): number {
  if (y === 0) return 0;
  if (a >= ASYMPTOTIC_FROM) {
    const b = a + y;
    // 1/b - 1/a, (1/2)(1/b² - 1/a²) and (1/6)(1/b³ - 1/a³) in closed form; the remaining tail terms are O(1/a⁵)
    const first = -y / (a * b);
    const second = (-0.5 * y * (a + b)) / (a * a * b * b);
    const third = (-y * (a * a + a * b + b * b)) / (6 * a * a * a * b * b * b);
    return first + second + third + (trigammaTailBeyondCube(b) - trigammaTailBeyondCube(a));
  }
  if (y <= EXACT_SUM_UP_TO) {
    let sum = 0;
    for (let k = 0; k < y; k++) {
      const t = a + k;
      sum += 1 / (t * t);
    }
    return -sum;
  }
  return trigamma(a + y) - trigamma(a);
}

/**
 * a²·[ψ′(a + y) - ψ′(a)] for a > 0 and a non-negative integer y, finite even when a is so small that 1/a² overflows:
 * the k = 0 term of -Σ 1/(a+k)² contributes exactly -1 (used for λ²·D2 terms of the likelihood Hessians).
 */
export function trigammaDiffScaled(a: number, y: number): number {
  if (y === 0) return 0;
  if (a >= ASYMPTOTIC_FROM) return a * a * trigammaDiff(a, y);
  return -1 + a * a * trigammaDiff(a + 1, y - 1);
}

/**
 * The three differences the likelihood derivatives need at once, into out = [ln Γ(a+y) - ln Γ(a), ψ(a+y) - ψ(a),
 * a²(ψ′(a+y) - ψ′(a))], for a > 0 and a non-negative integer y: the same values as lnGammaDiff, digammaDiff and
 * trigammaDiffScaled, with one pass over k for small a and y.
 */
export function gammaDifferences(a: number, y: number, out: Float64Array): void {
  if (y === 0) {
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    return;
  }
  if (a < ASYMPTOTIC_FROM && y <= EXACT_SUM_UP_TO) {
    let product = a;
    let inverse = 1 / a;
    let squaresBeyondFirst = 0;
    for (let k = 1; k < y; k++) {
      const t = a + k;
      product *= t;
      const u = 1 / t;
      inverse += u;
      squaresBeyondFirst += u * u;
    }
    out[0] = Math.log(product);
    out[1] = inverse;
    out[2] = -1 - a * a * squaresBeyondFirst;
    return;
  }
  out[0] = lnGammaDiff(a, y);
  out[1] = digammaDiff(a, y);
  out[2] = trigammaDiffScaled(a, y);
}

// Cody (1969) / netlib specfun CALERF coefficients
const ERF_A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const ERF_B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
const ERFC_C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const ERFC_D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
const ERFC_P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4,
  0.0163153871373020978,
];
const ERFC_Q = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185];
const INV_SQRT_PI = 0.56418958354775628695;

/** exp(-y²) computed as exp(-ȳ²)·exp(-(y-ȳ)(y+ȳ)) with ȳ = y rounded down to 1/16, as CALERF does, to avoid cancellation. */
function expMinusSquare(y: number): number {
  const ySixteenths = Math.trunc(y * 16) / 16;
  const del = (y - ySixteenths) * (y + ySixteenths);
  return Math.exp(-ySixteenths * ySixteenths) * Math.exp(-del);
}

/** Complementary error function erfc(x), relative accuracy near machine precision (Cody 1969, CALERF). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  let result: number;
  if (y <= 0.46875) {
    const ysq = y > 1.11e-16 ? y * y : 0;
    let num = ERF_A[4] * ysq;
    let den = ysq;
    for (let i = 0; i < 3; i++) {
      num = (num + ERF_A[i]) * ysq;
      den = (den + ERF_B[i]) * ysq;
    }
    return 1 - (x * (num + ERF_A[3])) / (den + ERF_B[3]);
  } else if (y <= 4) {
    let num = ERFC_C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + ERFC_C[i]) * y;
      den = (den + ERFC_D[i]) * y;
    }
    result = (expMinusSquare(y) * (num + ERFC_C[7])) / (den + ERFC_D[7]);
  } else if (y >= 26.543) {
    result = 0;
  } else {
    const ysq = 1 / (y * y);
    let num = ERFC_P[5] * ysq;
    let den = ysq;
    for (let i = 0; i < 4; i++) {
      num = (num + ERFC_P[i]) * ysq;
      den = (den + ERFC_Q[i]) * ysq;
    }
    result = (ysq * (num + ERFC_P[4])) / (den + ERFC_Q[4]);
    result = (expMinusSquare(y) * (INV_SQRT_PI - result)) / y;
  }
  return x < 0 ? 2 - result : result;
}

/** Standard normal CDF Φ(x) = erfc(-x/√2)/2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Two-sided p-value of a z statistic, 2(1 - Φ(|z|)) = erfc(|z|/√2), without cancellation in the tail. */
export function twoSidedP(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

/** Φ⁻¹(0.975), the 95% two-sided normal quantile. */
export const Z_975 = 1.959963984540054;
