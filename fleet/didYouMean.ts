/** Levenshtein distance, small and allocation-light: names compared here are short. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Names longer than this get no hint: the names and keys hinted at are short, and the distance takes time in the
 * product of the two lengths (two 1 MB host names would take hours).
 */
const MAX_HINTED_LENGTH = 256;

/** The closest candidate within a distance that still reads as a typo, or undefined. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  if (input.length > MAX_HINTED_LENGTH) return undefined;
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate.length > MAX_HINTED_LENGTH) continue;
    const distance = editDistance(needle, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(1, Math.floor(input.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** " Did you mean "x"?" or "" — ready to append to a message. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = closest(input, candidates);
  return match === undefined ? "" : ` Did you mean "${match}"?`;
}
