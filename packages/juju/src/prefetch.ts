/**
 * Hook-tool reads started by `dispatch` while Node starts.
 *
 * Every event of a refresh-aware charm begins with the same reads (`is-leader`, `config-get`,
 * the peer relation's ids, members and databags). Run from Node, each is a process start on
 * Node's main thread and a round trip to the unit agent, one after the other. Run from the
 * shell in `dispatch` instead, they overlap Node's own start-up (about as long as all of them
 * together) on another core. The shell writes each answer to Node's stdin as a frame; the
 * hook tools use a frame instead of starting the same tool again. A read that the shell did
 * not make, or whose tool failed, simply runs as usual, so the prefetch only ever saves work.
 *
 * The shell also reads the statuses the event will most likely set again: in a steady state a
 * `status-set` repeats what `status-get` shows, and the hook tools then leave it out.
 *
 * Frames, one per line pair, in the order the shell ran the tools:
 *
 *     @clock <first field of /proc/uptime>     (optional, before any tool ran)
 *     @<tool> <arg> <arg> ...                   (the argument vector, joined by single spaces)
 *     <the tool's stdout, one line of JSON>
 *
 * Juju prints `--format=json` output as one compact line (juju/cmd's `FormatJson` is Go's
 * `json.Marshal`, which escapes every control character, plus a newline), so a body is one
 * line. Anything else (a body that is not JSON, a header where a body belongs) ends the
 * prefetch at that point: the frame in question and all later ones are asked for afresh.
 */
import { readFileSync } from "node:fs";
import type { HookToolRunner, ToolExit, ToolInvocation } from "./tool-runner.js";

/** Set by `dispatch` (to `stdin`) when it pipes prefetched answers into the charm. */
export const HOOK_TOOL_PREFETCH_ENV = "REFRESH_HOOK_TOOL_PREFETCH";

/** The tools `prefetchShellFunction` (prefetch-script.ts) runs: only their calls may wait for a frame. */
const PREFETCHED_TOOLS: ReadonlySet<string> = new Set(["is-leader", "config-get", "goal-state", "relation-ids", "relation-list", "relation-get", "status-get"]);

/** One prefetched answer: the tool's stdout, and no later than when the tool ran, when known. */
interface Answer {
  readonly stdout: string;
  /** Epoch milliseconds no later than the moment the tool answered; absent without a clock frame. */
  readonly askedAt: number | undefined;
}

/**
 * The answers a `dispatch` prefetch delivers, as they arrive. {@link take} hands each one out
 * once: the hook tools memoise what needs memoising.
 */
export class PrefetchedAnswers {
  readonly #answers = new Map<string, Answer>();
  readonly #waiters = new Map<string, Array<() => void>>();
  #ended = false;
  #buffer = "";
  #pendingHeader: string | undefined;
  #broken = false;
  #askedAt: number | undefined;
  readonly #uptimeNow: () => number | undefined;

  /** @param uptimeNow seconds since boot, as `/proc/uptime` says (a seam for tests). */
  constructor(uptimeNow: () => number | undefined = readUptime) {
    this.#uptimeNow = uptimeNow;
  }

  /** Feeds the next bytes the shell wrote (any split, UTF-8). */
  push(text: string): void {
    if (this.#ended) return;
    const buffer = this.#buffer + text;
    let start = 0;
    let newline: number;
    while ((newline = buffer.indexOf("\n", start)) >= 0) {
      this.#line(buffer.slice(start, newline));
      start = newline + 1;
    }
    // Kept only when the shell is still writing: a break ends the prefetch.
    this.#buffer = this.#ended ? "" : buffer.slice(start);
  }

  /** The shell is done (or gone): every read still waiting runs its tool itself. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#buffer = "";
    for (const wake of [...this.#waiters.values()].flat()) wake();
    this.#waiters.clear();
  }

  /**
   * The prefetched answer to exactly this invocation, waiting for it while the shell may still
   * deliver it; `undefined` when it never will. Each answer is handed out once.
   */
  async take(invocation: ToolInvocation): Promise<ToolExit | undefined> {
    if (invocation.stdin !== undefined || !PREFETCHED_TOOLS.has(invocation.tool)) return undefined;
    const key = [invocation.tool, ...invocation.args].join(" ");
    if (!this.#answers.has(key) && !this.#ended) {
      await new Promise<void>((resolve) => {
        const waiting = this.#waiters.get(key) ?? [];
        waiting.push(resolve);
        this.#waiters.set(key, waiting);
      });
    }
    const answer = this.#answers.get(key);
    if (answer === undefined) return undefined;
    this.#answers.delete(key);
    // Without the shell's clock it is unknown how old the answer is: date it as old as can be,
    // so nothing (leadership above all) is reused on the strength of it.
    return { exitCode: 0, signal: undefined, stdout: `${answer.stdout}\n`, stderr: "", askedAt: answer.askedAt ?? Number.NEGATIVE_INFINITY };
  }

  #line(line: string): void {
    if (this.#broken) return;
    if (this.#pendingHeader === undefined) {
      if (!line.startsWith("@")) return this.#break();
      const header = line.slice(1);
      if (header.startsWith("clock ")) {
        this.#askedAt = this.#clockFrame(header.slice("clock ".length));
        return;
      }
      this.#pendingHeader = header;
      return;
    }
    const key = this.#pendingHeader;
    this.#pendingHeader = undefined;
    try {
      JSON.parse(line);
    } catch {
      return this.#break();
    }
    // A frame repeated (the shell asked twice) keeps the first answer: it is the one read first.
    if (!this.#answers.has(key)) this.#answers.set(key, { stdout: line, askedAt: this.#askedAt });
    const waiting = this.#waiters.get(key);
    this.#waiters.delete(key);
    for (const wake of waiting ?? []) wake();
  }

  /** When the shell read the clock, in epoch milliseconds, erring early by the clock's resolution. */
  #clockFrame(text: string): number | undefined {
    const then = Number(text);
    const now = this.#uptimeNow();
    if (!Number.isFinite(then) || now === undefined || now < then) return undefined;
    return Date.now() - (now - then) * 1000 - UPTIME_RESOLUTION_MS;
  }

  #break(): void {
    this.#broken = true;
    this.#pendingHeader = undefined;
    this.end();
  }
}

/** `/proc/uptime` has two decimals. */
const UPTIME_RESOLUTION_MS = 10;

function readUptime(): number | undefined {
  try {
    const seconds = Number(readFileSync("/proc/uptime", "latin1").split(" ")[0]);
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the prefetch `dispatch` pipes into this process, when {@link HOOK_TOOL_PREFETCH_ENV}
 * says there is one; `undefined` otherwise. Reading starts at once, so the shell never waits
 * on a full pipe.
 */
export function readDispatchPrefetch(env: Readonly<Record<string, string | undefined>>, input: () => NodeJS.ReadableStream = () => process.stdin): PrefetchedAnswers | undefined {
  if (env[HOOK_TOOL_PREFETCH_ENV] !== "stdin") return undefined;
  const answers = new PrefetchedAnswers();
  const stream = input();
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => answers.push(chunk));
  stream.on("end", () => answers.end());
  stream.on("error", () => answers.end());
  return answers;
}

/** A runner that answers from `answers` where it can and runs the tool with `fallback` otherwise. */
export function createPrefetchingRunner(answers: PrefetchedAnswers, fallback: HookToolRunner): HookToolRunner {
  return async (invocation) => (await answers.take(invocation)) ?? fallback(invocation);
}
