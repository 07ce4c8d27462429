/**
 * A small seeded pseudo-random generator (mulberry32). The simulator draws every choice it
 * makes (which hook runs next, which unit becomes leader) from one of these, so the same seed
 * replays the same run.
 */
export class SeededRandom {
  private state: number;

  /** @param seed any integer; the same seed yields the same sequence. */
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    // An assertion, not a test mistake: SeededRandom is internal and every caller checks it has a choice.
    if (items.length === 0) throw new RangeError("cannot pick from an empty list");
    return items[this.below(items.length)] as T;
  }
}
