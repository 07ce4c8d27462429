import type { Logger } from "./context.js";
import type { HookTools, LogLevel } from "./hook-tools.js";

/** A {@link Logger} whose lines are written in the background; `flush` waits for them. */
export interface FlushableLogger extends Logger {
  /** Resolves once every line logged so far has been written. Never rejects. */
  flush(): Promise<void>;
}

/** Options of {@link createJujuLogger}. */
export interface JujuLoggerOptions {
  /**
   * Where lines go when `juju-log` fails (the hook's stderr also ends up in the unit log).
   * @default writes to process.stderr
   */
  readonly fallback?: (line: string) => void;
}

/**
 * A logger that sends each line through `juju-log`, so it shows in `juju debug-log`.
 *
 * Logging never makes the caller wait or fail: lines are queued and written in order in the
 * background, and `flush()` (awaited by `runCharm` before the process exits) waits for them.
 * If `juju-log` fails once, that line and every later one go to the fallback (stderr)
 * instead, with a note saying why, rather than spawning a failing tool for every line.
 */
export function createJujuLogger(tools: Pick<HookTools, "jujuLog">, options: JujuLoggerOptions = {}): FlushableLogger {
  const fallback = options.fallback ?? ((line: string) => void process.stderr.write(line));
  let queue: Promise<void> = Promise.resolve();
  let jujuLogBroken = false;

  const toFallback = (level: LogLevel, message: string): void => {
    try {
      fallback(`${level} ${message}\n`);
    } catch {
      // Nowhere left to write; losing a log line must not fail the hook.
    }
  };

  const write = (level: LogLevel, message: string): void => {
    queue = queue.then(async () => {
      if (jujuLogBroken) return toFallback(level, message);
      try {
        await tools.jujuLog(level, message);
      } catch (error) {
        jujuLogBroken = true;
        const reason = error instanceof Error ? error.message : String(error);
        toFallback("WARNING", `juju-log failed, logging to stderr from now on: ${reason}`);
        toFallback(level, message);
      }
    });
  };

  return {
    debug: (message) => write("DEBUG", message),
    info: (message) => write("INFO", message),
    warning: (message) => write("WARNING", message),
    error: (message) => write("ERROR", message),
    flush: async () => {
      // Lines logged while waiting (by callbacks still running) are waited for too.
      let seen: Promise<void>;
      do {
        seen = queue;
        await seen;
      } while (seen !== queue);
    },
  };
}
