import { englishIssues, RefreshError } from "@refresh/core";
import * as z from "zod/mini";
import { MalformedHttpResponse, requestOverUnixSocket } from "./unix-http.js";

/** Where snapd listens on every Ubuntu machine. */
export const DEFAULT_SNAPD_SOCKET = "/run/snapd.socket";

/**
 * The snapd socket path for this hook: `SNAPD_SOCKET` from the hook environment when set,
 * otherwise `/run/snapd.socket`. Juju never sets `SNAPD_SOCKET`; the override exists so a
 * simulator (or a test) can point the charm at a fake snapd on its own unix socket.
 */
export function snapdSocketPath(environment: Readonly<Record<string, string | undefined>>): string {
  const override = environment["SNAPD_SOCKET"];
  return override === undefined || override === "" ? DEFAULT_SNAPD_SOCKET : override;
}

/** Why a snapd request failed; stable, so charms can branch on it. */
export type SnapdErrorCode =
  | "SNAPD_UNREACHABLE"
  | "SNAPD_REQUEST_FAILED"
  | "SNAPD_BAD_RESPONSE"
  | "SNAPD_CHANGE_FAILED"
  | "SNAPD_CHANGE_TIMEOUT";

/**
 * snapd could not be reached or refused a request. `kind` is snapd's own error kind
 * (`snap-not-found`, `snap-revision-not-available`, …) when it gave one.
 */
export class SnapdError extends RefreshError {
  /** snapd's `result.kind`, when the error came from snapd itself. */
  readonly kind: string | undefined;
  /** HTTP status of snapd's answer, when there was one. */
  readonly httpStatus: number | undefined;

  constructor(
    code: SnapdErrorCode,
    message: string,
    options: { kind?: string | undefined; httpStatus?: number | undefined; cause?: unknown; resolution?: string | undefined } = {},
  ) {
    super(code, message, options);
    this.kind = options.kind;
    this.httpStatus = options.httpStatus;
  }
}

/**
 * snapd answered, but not as its REST API documents: something else listens on the socket,
 * or snapd is too old or broken. Retrying the same request will not help.
 */
function badResponse(socketPath: string, detail: string, options: { cause?: unknown; httpStatus?: number | undefined } = {}): SnapdError {
  return new SnapdError(
    "SNAPD_BAD_RESPONSE",
    `${detail}. Check that ${socketPath} is snapd's socket and snapd is healthy; the hook fails and Juju retries it`,
    {
      ...options,
      resolution:
        `on the machine, check \`systemctl status snapd.socket snapd.service\`, \`snap version\` and \`journalctl -u snapd\`; ` +
        "restart snapd if it misbehaves, otherwise report the snapd version to the charm's developers",
    },
  );
}

/** What to check when snapd refuses a request, by snapd's error kind where one helps. */
function refusalResolution(kind: string | undefined): string {
  switch (kind) {
    case "snap-not-found":
    case "snap-revision-not-available":
    case "snap-channel-not-available":
      return (
        "check that the store (or the Snap Store Proxy this machine uses) offers the snap revision this charm revision " +
        "pins in refresh_versions.toml, e.g. with `snap info <snap>`; `journalctl -u snapd` shows snapd's side"
      );
    case "snap-change-conflict":
      return "another snap operation is running on this machine: wait for it in `snap changes`; the next Juju event retries";
    default:
      return "check `snap changes` and `journalctl -u snapd` on the machine for why snapd refused; the next Juju event retries";
  }
}

const errorResult = z.looseObject({ message: z.optional(z.string()), kind: z.optional(z.string()) });

const syncResponse = z.looseObject({ type: z.literal("sync"), "status-code": z.optional(z.number()), result: z.unknown() });
const asyncResponse = z.looseObject({ type: z.literal("async"), change: z.string() });
const errorResponse = z.looseObject({ type: z.literal("error"), "status-code": z.optional(z.number()), result: z.optional(errorResult) });

const installedSnap = z.looseObject({ name: z.string(), revision: z.string() });
const snapList = z.array(installedSnap);

const change = z.looseObject({
  id: z.optional(z.string()),
  status: z.string(),
  ready: z.optional(z.boolean()),
  err: z.optional(z.string()),
});

/** Options of {@link SnapdClient}. */
export interface SnapdClientOptions {
  /** Path of snapd's unix socket. @default "/run/snapd.socket" */
  readonly socketPath?: string;
  /** Pause between two polls of a refresh's change. @default 100 */
  readonly pollIntervalMs?: number;
  /** Give up waiting for a refresh's change after this long. @default 600_000 (10 minutes) */
  readonly changeTimeoutMs?: number;
}

/** Options of one {@link SnapdClient.refresh} call. */
export interface SnapRefreshOptions {
  /** Overrides the client's `changeTimeoutMs` for this refresh. */
  readonly timeoutMs?: number;
  /** Install the snap as a classic snap. @default false */
  readonly classic?: boolean;
}

/**
 * The few snapd REST calls a machine charm's refresh needs, over snapd's unix socket.
 * Every answer is validated; every failure is a {@link SnapdError}. `requestCount` counts
 * HTTP requests made, for benchmarks.
 */
export class SnapdClient {
  /** The unix socket this client talks to. */
  readonly socketPath: string;
  readonly #pollIntervalMs: number;
  readonly #changeTimeoutMs: number;
  #requestCount = 0;

  constructor(options: SnapdClientOptions = {}) {
    this.socketPath = options.socketPath ?? DEFAULT_SNAPD_SOCKET;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    this.#changeTimeoutMs = options.changeTimeoutMs ?? 600_000;
  }

  /** HTTP requests sent so far by this client. */
  get requestCount(): number {
    return this.#requestCount;
  }

  /** The installed revision of `snapName` (a string such as `"182"` or `"x1"`), or null if it is not installed. */
  async installedRevision(snapName: string): Promise<string | null> {
    const result = await this.#sync("GET", `/v2/snaps?snaps=${encodeURIComponent(snapName)}`);
    const parsed = z.safeParse(snapList, result, englishIssues);
    if (!parsed.success) {
      throw badResponse(this.socketPath, `snapd listed snap "${snapName}" in an unexpected shape: ${z.prettifyError(parsed.error)}`);
    }
    const matching = parsed.data.filter((snap) => snap.name === snapName);
    if (parsed.data.length > 1 || matching.length !== parsed.data.length) {
      throw badResponse(
        this.socketPath,
        `snapd answered a query for snap "${snapName}" with ${parsed.data.length} snaps (${parsed.data.map((snap) => snap.name).join(", ")}); expected that snap alone`,
      );
    }
    return matching[0]?.revision ?? null;
  }

  /**
   * Refreshes `snapName` to exactly `revision` (installs it if it is not installed) and
   * waits for snapd to finish. Throws a {@link SnapdError} when snapd refuses, the change
   * fails, or it takes longer than the timeout; the revision may or may not have changed
   * then, so read {@link installedRevision} afterwards.
   */
  async refresh(snapName: string, revision: string, options: SnapRefreshOptions = {}): Promise<void> {
    const installed = await this.installedRevision(snapName);
    if (installed === revision) return;
    const body: Record<string, unknown> = { action: installed === null ? "install" : "refresh", revision };
    if (options.classic === true) body["classic"] = true;
    const started = await this.#send("POST", `/v2/snaps/${encodeURIComponent(snapName)}`, body);
    if (started.kind === "sync") return;
    await this.#waitForChange(started.change, `refresh of snap "${snapName}" to revision ${revision}`, options.timeoutMs ?? this.#changeTimeoutMs);
  }

  async #waitForChange(changeId: string, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await this.#sync("GET", `/v2/changes/${encodeURIComponent(changeId)}`);
      const parsed = z.safeParse(change, result, englishIssues);
      if (!parsed.success) {
        throw badResponse(this.socketPath, `snapd reported change ${changeId} in an unexpected shape: ${z.prettifyError(parsed.error)}`);
      }
      const { status, err } = parsed.data;
      if (status === "Done" || status === "Wait") return;
      if (status === "Error" || status === "Hold" || status === "Undone") {
        throw new SnapdError("SNAPD_CHANGE_FAILED", `snapd failed the ${what} (change ${changeId} is ${status})${err === undefined ? "" : `: ${err}`}`, {
          resolution: "check `snap changes` and `snap tasks <change>` on the machine",
        });
      }
      if (Date.now() >= deadline) {
        throw new SnapdError("SNAPD_CHANGE_TIMEOUT", `gave up waiting for the ${what} after ${timeoutMs} ms (change ${changeId} is still ${status})`, {
          resolution: "check `snap changes` on the machine; the next Juju event checks the installed revision again",
        });
      }
      await new Promise<void>((resolve) => setTimeout(resolve, this.#pollIntervalMs));
    }
  }

  async #sync(method: string, path: string): Promise<unknown> {
    const answer = await this.#send(method, path, undefined);
    if (answer.kind !== "sync") {
      throw badResponse(this.socketPath, `snapd answered ${method} ${path} asynchronously; expected a direct answer`);
    }
    return answer.result;
  }

  async #send(method: string, path: string, body: unknown): Promise<{ kind: "sync"; result: unknown } | { kind: "async"; change: string }> {
    const { status, text } = await this.#http(method, path, body);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw badResponse(this.socketPath, `snapd answered ${method} ${path} (HTTP ${status}) with something that is not JSON`, { cause, httpStatus: status });
    }
    const failure = z.safeParse(errorResponse, json, englishIssues);
    if (failure.success || status < 200 || status >= 300) {
      const result = failure.success ? failure.data.result : undefined;
      const kind = result?.kind;
      throw new SnapdError(
        "SNAPD_REQUEST_FAILED",
        `snapd refused ${method} ${path} (HTTP ${status}${kind === undefined ? "" : `, ${kind}`}): ${result?.message ?? "no message"}; ` +
          "the hook fails and Juju retries it",
        { httpStatus: status, kind, resolution: refusalResolution(kind) },
      );
    }
    const sync = z.safeParse(syncResponse, json, englishIssues);
    if (sync.success) return { kind: "sync", result: sync.data.result };
    const async = z.safeParse(asyncResponse, json, englishIssues);
    if (async.success) return { kind: "async", change: async.data.change };
    throw badResponse(this.socketPath, `snapd answered ${method} ${path} with an unknown response type`, { httpStatus: status });
  }

  async #http(method: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
    this.#requestCount += 1;
    try {
      const response = await requestOverUnixSocket(this.socketPath, { method, path, ...(body === undefined ? {} : { json: JSON.stringify(body) }) });
      return { status: response.status, text: response.body.toString("utf8") };
    } catch (cause) {
      if (cause instanceof MalformedHttpResponse) {
        throw badResponse(this.socketPath, `snapd answered ${method} ${path} with something that is not HTTP (${cause.message})`, { cause });
      }
      const code = (cause as NodeJS.ErrnoException).code;
      throw new SnapdError("SNAPD_UNREACHABLE", `cannot reach snapd at ${this.socketPath} (${code ?? String(cause)})`, {
        cause,
        resolution: "check that snapd is installed and running on this machine (`systemctl status snapd.socket`)",
      });
    }
  }
}
