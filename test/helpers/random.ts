import { randomInt } from "node:crypto";

/** Random draws that a seed makes repeatable. */
export interface Random {
  readonly seed: number;
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [min, max). */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[];
  bytes(count: number): Buffer;
  hex(bytes: number): string;
}

/** mulberry32: small, fast, and good enough to draw test inputs; the same seed draws the same sequence. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min));
  const bytes = (count: number) => Buffer.from(Array.from({ length: count }, () => int(0, 256)));
  return {
    seed,
    next,
    int,
    pick: (items) => items[int(0, items.length)]!,
    shuffle: (items) => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(0, i + 1);
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
    bytes,
    hex: (count) => bytes(count).toString("hex"),
  };
}

let fileRandom: Random | undefined;

/**
 * The test file's random inputs: seeded from TEST_SEED, else from a fresh seed, printed once per file
 * (jest loads this module once per file), so `TEST_SEED=<seed> npm test` draws a failed run's inputs again.
 */
export function testRandom(): Random {
  if (fileRandom) return fileRandom;
  const given = process.env.TEST_SEED;
  if (given !== undefined && given !== "" && !/^\d+$/.test(given)) throw new Error(`TEST_SEED must be a whole number, not ${JSON.stringify(given)}`);
  const seed = given ? Number(given) >>> 0 : randomInt(2 ** 32);
  console.log(`random test inputs: TEST_SEED=${seed} draws them again`);
  fileRandom = seededRandom(seed);
  return fileRandom;
}
