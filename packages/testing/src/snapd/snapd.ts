import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, STATUS_CODES } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { TestingError } from "../errors.js";
import { readBody, sendJson, wireTimestamp } from "../json-http.js";

/** One revision of a snap the fake store can install. */
export interface StoreRevision {
  /** Revision as snapd spells it: a string, e.g. `"183"` (`"x1"` for side-loaded snaps). */
  readonly revision: string;
  /** The snap's version string, e.g. `"16.4"`. */
  readonly version: string;
  /** Channel the revision is published in (default `latest/stable`). */
  readonly channel?: string;
}

/** A snap installed on the fake machine. */
export interface InstalledSnap {
  readonly name: string;
  readonly revision: string;
  readonly version: string;
  /** Channel the installed revision came from. */
  readonly channel: string;
  /** Channel refreshes follow (`tracking-channel`). */
  readonly trackingChannel: string;
  /** RFC 3339 time until which auto-refresh is held; undefined when not held. */
  readonly hold: string | undefined;
  readonly installDate: string;
  /**
   * Whether the snap's service (the workload) runs. snapd stops it while a refresh change is
   * in progress; the model flips it for `snap start`/`snap stop` or a crashed workload.
   */
  readonly serviceRunning: boolean;
}

/** Status of a snapd change, as `GET /v2/changes/<id>` reports it. */
export type SnapChangeStatus = "Doing" | "Done" | "Error";

/** A snapshot of a change (an asynchronous operation). */
export interface SnapChange {
  readonly id: string;
  /** e.g. `refresh-snap`, `install-snap`, `hold-snap`. */
  readonly kind: string;
  readonly snap: string;
  readonly summary: string;
  readonly status: SnapChangeStatus;
  /** The error message of a failed change. */
  readonly err: string | undefined;
  /** How many times a client has polled it. */
  readonly polls: number;
}

/** Something the fake snapd did, for the model (e.g. to record when a workload restarted). */
export type SnapdEvent =
  | { readonly type: "change-started"; readonly change: SnapChange }
  | { readonly type: "change-done"; readonly change: SnapChange; readonly from: string | undefined; readonly to: string }
  | { readonly type: "change-failed"; readonly change: SnapChange };

/** One request the fake snapd answered. */
export interface SnapdRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
}

/** How the socket is unavailable: no socket file at all, or a file nobody listens on. */
export type SnapdOutage = "missing" | "refused";

/** Options of {@link FakeSnapd}. */
export interface FakeSnapdOptions {
  /** Polls of `GET /v2/changes/<id>` that report `Doing` before the change ends (default 1). */
  readonly pollsUntilReady?: number;
  /** Time source for install dates and change times (default: the wall clock). */
  readonly now?: () => Date;
}

/** The stable codes a {@link FakeSnapdError} carries. */
export type FakeSnapdErrorCode = "FAKE_SNAPD_SNAP_NOT_INSTALLED" | "FAKE_SNAPD_NOT_LISTENING" | "FAKE_SNAPD_INVALID_POLLS";

/** Thrown when a test asks the fake snapd for something impossible. */
export class FakeSnapdError extends TestingError {
  declare readonly code: FakeSnapdErrorCode;

  constructor(code: FakeSnapdErrorCode, message: string) {
    super(code, message);
  }
}

interface ChangeRecord {
  id: string;
  kind: string;
  snap: string;
  summary: string;
  status: SnapChangeStatus;
  err: string | undefined;
  polls: number;
  pollsUntilReady: number;
  spawnTime: string;
  readyTime: string | undefined;
  /** What happens when the change ends successfully. */
  apply: () => string;
  fail: string | undefined;
  serviceWasRunning: boolean;
  from: string | undefined;
}

interface MutableSnap {
  name: string;
  revision: string;
  version: string;
  channel: string;
  trackingChannel: string;
  hold: string | undefined;
  installDate: string;
  serviceRunning: boolean;
}

/** "forever" holds are stored as a far-future date by snapd. */
const HOLD_FOREVER = "2315-01-01T00:00:00Z";

const postSnapBody = z.object({
  action: z.string(),
  revision: z.union([z.string(), z.number().int()]).optional(),
  channel: z.string().optional(),
  classic: z.boolean().optional(),
  "hold-level": z.string().optional(),
  time: z.string().optional(),
});

/** An error response in snapd's shape. */
class SnapdHttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly kind: string | undefined,
    readonly value: string | undefined = undefined,
  ) {
    super(message);
  }
}

/**
 * snapd on one simulated machine: installed snaps, a small store of revisions, asynchronous
 * changes, and a real HTTP server on a unix socket implementing the REST calls the library
 * makes (`GET /v2/snaps?snaps=`, `GET /v2/snaps/<name>`, `POST /v2/snaps/<name>`,
 * `GET /v2/changes/<id>`). Call {@link listen} to serve it and {@link close} when done.
 */
export class FakeSnapd {
  private readonly now: () => Date;
  private readonly installed = new Map<string, MutableSnap>();
  private readonly store = new Map<string, Map<string, StoreRevision>>();
  private readonly changes = new Map<string, ChangeRecord>();
  private readonly listeners = new Set<(event: SnapdEvent) => void>();
  private readonly log: SnapdRequestRecord[] = [];
  private changeCounter = 0;
  private pollsUntilReady: number;
  private pendingRefreshFailures: string[] = [];
  private server: Server | undefined;
  private directory: string | undefined;
  private socket: string | undefined;
  private outage: SnapdOutage | undefined;
  private gate: ((request: { method: string; path: string }) => Promise<void>) | undefined;

  constructor(options: FakeSnapdOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.pollsUntilReady = validPolls(options.pollsUntilReady ?? 1);
  }

  // ---- store and installed state ------------------------------------------------------------

  /** Publishes a revision in the fake store, so `install`/`refresh` to it can succeed. */
  addStoreRevision(name: string, revision: StoreRevision): void {
    let revisions = this.store.get(name);
    if (revisions === undefined) {
      revisions = new Map();
      this.store.set(name, revisions);
    }
    revisions.set(revision.revision, { ...revision });
  }

  /**
   * Installs a snap directly (test setup, no change). The revision is added to the store too,
   * so a later rollback refresh to it works. The service starts running.
   */
  install(name: string, revision: StoreRevision & { readonly hold?: string }): InstalledSnap {
    this.addStoreRevision(name, revision);
    const channel = revision.channel ?? "latest/stable";
    const snap: MutableSnap = {
      name,
      revision: revision.revision,
      version: revision.version,
      channel,
      trackingChannel: channel,
      hold: revision.hold,
      installDate: this.timestamp(),
      serviceRunning: true,
    };
    this.installed.set(name, snap);
    return { ...snap };
  }

  /** The installed snap, or undefined when it is not installed. */
  snap(name: string): InstalledSnap | undefined {
    const snap = this.installed.get(name);
    return snap === undefined ? undefined : { ...snap };
  }

  /** Whether the snap's service (the workload) is running; false when not installed. */
  isServiceRunning(name: string): boolean {
    return this.installed.get(name)?.serviceRunning ?? false;
  }

  /** Starts or stops the snap's service (what `snap start`/`snap stop` or a crash does). */
  setServiceRunning(name: string, running: boolean): void {
    const snap = this.installed.get(name);
    if (snap === undefined) throw new FakeSnapdError("FAKE_SNAPD_SNAP_NOT_INSTALLED", `snap "${name}" is not installed on this fake machine; call install() first`);
    snap.serviceRunning = running;
  }

  /** Snapshot of a change, or undefined for an unknown id. */
  change(id: string): SnapChange | undefined {
    const record = this.changes.get(id);
    return record === undefined ? undefined : snapshotChange(record);
  }

  /** Snapshots of all changes, oldest first. */
  allChanges(): SnapChange[] {
    return [...this.changes.values()].map(snapshotChange);
  }

  /**
   * Ends every change still in progress, as snapd would with nobody polling. Use it when the
   * charm's hook was killed while waiting, to let time pass.
   */
  completeAllChanges(): void {
    for (const record of this.changes.values()) if (record.status === "Doing") this.finish(record);
  }

  /** Calls `listener` with every change event from now on; returns a function that unsubscribes. */
  subscribe(listener: (event: SnapdEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- fault injection ----------------------------------------------------------------------

  /**
   * Makes the next refresh change fail (status `Error`, revision unchanged, service restarted
   * if it was running). Calls queue up: two calls fail the next two refreshes.
   */
  failNextRefresh(message = "simulated failure: cannot download snap"): void {
    this.pendingRefreshFailures.push(message);
  }

  /** How many polls of a change report `Doing` before it ends (slow changes). */
  setPollsUntilReady(polls: number): void {
    this.pollsUntilReady = validPolls(polls);
  }

  /**
   * Takes the socket away (`"missing"`: no socket file, clients get ENOENT; `"refused"`: a
   * file nobody listens on, clients get ECONNREFUSED) or brings it back (`undefined`).
   */
  async setOutage(outage: SnapdOutage | undefined): Promise<void> {
    if (this.socket === undefined) throw new FakeSnapdError("FAKE_SNAPD_NOT_LISTENING", "the fake snapd is not listening; call listen() first");
    if (outage === this.outage) return;
    await this.stopServer();
    await rm(this.socket, { force: true });
    this.outage = outage;
    if (outage === "refused") await writeFile(this.socket, "");
    if (outage === undefined) await this.startServer(this.socket);
  }

  /**
   * Runs `gate` before answering each request, so the simulator can order requests from
   * concurrent hooks deterministically. Pass undefined to remove it.
   */
  setRequestGate(gate: ((request: { method: string; path: string }) => Promise<void>) | undefined): void {
    this.gate = gate;
  }

  /** Every request answered so far, oldest first. */
  get requests(): readonly SnapdRequestRecord[] {
    return this.log;
  }

  // ---- server -------------------------------------------------------------------------------

  /** Path of the unix socket, once {@link listen} resolved. */
  get socketPath(): string {
    if (this.socket === undefined) throw new FakeSnapdError("FAKE_SNAPD_NOT_LISTENING", "the fake snapd is not listening; call listen() first");
    return this.socket;
  }

  /** Environment a charm process needs to reach this snapd (`SNAPD_SOCKET`, our override of /run/snapd.socket). */
  env(): { SNAPD_SOCKET: string } {
    return { SNAPD_SOCKET: this.socketPath };
  }

  /** Starts serving on a unix socket in a fresh temporary directory; resolves to the socket path. */
  async listen(): Promise<string> {
    if (this.socket !== undefined) return this.socket;
    this.directory = await mkdtemp(join(tmpdir(), "fake-snapd-"));
    const socket = join(this.directory, "snapd.socket");
    await this.startServer(socket);
    this.socket = socket;
    return socket;
  }

  /** Stops serving and removes the socket and its directory. Safe to call twice. */
  async close(): Promise<void> {
    await this.stopServer();
    if (this.directory !== undefined) await rm(this.directory, { recursive: true, force: true });
    this.directory = undefined;
    this.socket = undefined;
  }

  private async startServer(socket: string): Promise<void> {
    const server = createServer((request, response) => {
      void this.handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socket, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
  }

  private async stopServer(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://localhost");
    const method = request.method ?? "GET";
    let status = 500;
    try {
      const body = await readBody(request);
      if (this.gate !== undefined) await this.gate({ method, path: url.pathname });
      const result = this.route(method, url, body);
      status = result.statusCode;
      sendJson(response, result.statusCode, result.payload);
    } catch (error) {
      const failure =
        error instanceof SnapdHttpError ? error : new SnapdHttpError(500, `fake snapd internal error: ${String(error)}`, undefined);
      status = failure.statusCode;
      sendJson(response, failure.statusCode, errorPayload(failure));
    } finally {
      this.log.push({ method, path: url.pathname, query: url.search, status });
    }
  }

  private route(method: string, url: URL, body: string): { statusCode: number; payload: unknown } {
    const path = url.pathname;
    if (path === "/v2/snaps") {
      if (method !== "GET") throw methodNotAllowed(method, path);
      const filter = url.searchParams.get("snaps");
      const names = filter === null || filter === "" ? [...this.installed.keys()] : filter.split(",");
      const result = names.flatMap((name) => {
        const snap = this.installed.get(name);
        return snap === undefined ? [] : [this.snapJson(snap)];
      });
      return syncResponse(result);
    }
    const snapMatch = /^\/v2\/snaps\/([^/]+)$/.exec(path);
    if (snapMatch !== null) {
      const name = decodeURIComponent(snapMatch[1] ?? "");
      if (method === "GET") {
        const snap = this.installed.get(name);
        if (snap === undefined) throw new SnapdHttpError(404, `snap "${name}" is not installed`, "snap-not-found", name);
        return syncResponse(this.snapJson(snap));
      }
      if (method === "POST") return this.postSnap(name, body);
      throw methodNotAllowed(method, path);
    }
    const changeMatch = /^\/v2\/changes\/([^/]+)$/.exec(path);
    if (changeMatch !== null) {
      if (method !== "GET") throw methodNotAllowed(method, path);
      const id = decodeURIComponent(changeMatch[1] ?? "");
      const record = this.changes.get(id);
      if (record === undefined) throw new SnapdHttpError(404, `cannot find change with id "${id}"`, undefined);
      this.poll(record);
      return syncResponse(changeJson(record));
    }
    throw new SnapdHttpError(404, `the fake snapd does not implement ${method} ${path}`, undefined);
  }

  private postSnap(name: string, body: string): { statusCode: number; payload: unknown } {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new SnapdHttpError(400, "cannot decode request body into snap instruction: not JSON", undefined);
    }
    const parsed = postSnapBody.safeParse(json);
    if (!parsed.success) {
      throw new SnapdHttpError(400, `cannot decode request body into snap instruction: ${parsed.error.issues[0]?.message ?? "invalid"}`, undefined);
    }
    const instruction = parsed.data;
    const revision = instruction.revision === undefined ? undefined : String(instruction.revision);
    const inProgress = [...this.changes.values()].find((record) => record.snap === name && record.status === "Doing");
    switch (instruction.action) {
      case "refresh": {
        const snap = this.installed.get(name);
        // snapd answers a refresh of a snap that is not installed with an error without a kind.
        if (snap === undefined) throw new SnapdHttpError(400, `snap "${name}" is not installed`, undefined);
        if (inProgress !== undefined) {
          throw new SnapdHttpError(409, `snap "${name}" has "${inProgress.kind}" change in progress`, "snap-change-conflict", name);
        }
        const target = this.resolveRevision(name, revision, instruction.channel ?? snap.trackingChannel);
        if (target.revision === snap.revision) {
          throw new SnapdHttpError(400, `snap "${name}" has no updates available`, "snap-no-update-available", name);
        }
        const record = this.startChange("refresh-snap", name, `Refresh "${name}" snap`, snap.serviceRunning, snap.revision, () => {
          snap.revision = target.revision;
          snap.version = target.version;
          snap.channel = target.channel ?? snap.trackingChannel;
          if (instruction.channel !== undefined) snap.trackingChannel = instruction.channel;
          return target.revision;
        });
        record.fail = this.pendingRefreshFailures.shift();
        // snapd stops the services before switching revision and starts them again afterwards.
        snap.serviceRunning = false;
        return asyncResponse(record.id);
      }
      case "install": {
        if (this.installed.has(name)) {
          throw new SnapdHttpError(400, `snap "${name}" is already installed`, "snap-already-installed", name);
        }
        if (inProgress !== undefined) {
          throw new SnapdHttpError(409, `snap "${name}" has "${inProgress.kind}" change in progress`, "snap-change-conflict", name);
        }
        if (!this.store.has(name)) throw new SnapdHttpError(404, `snap "${name}" not found`, "snap-not-found", name);
        const channel = instruction.channel ?? "latest/stable";
        const target = this.resolveRevision(name, revision, channel);
        const record = this.startChange("install-snap", name, `Install "${name}" snap`, true, undefined, () => {
          this.installed.set(name, {
            name,
            revision: target.revision,
            version: target.version,
            channel: target.channel ?? channel,
            trackingChannel: channel,
            hold: undefined,
            installDate: this.timestamp(),
            serviceRunning: true,
          });
          return target.revision;
        });
        return asyncResponse(record.id);
      }
      case "hold":
      case "unhold": {
        const snap = this.installed.get(name);
        if (snap === undefined) throw new SnapdHttpError(404, `snap "${name}" is not installed`, "snap-not-installed", name);
        let hold: string | undefined;
        if (instruction.action === "hold") {
          if (instruction["hold-level"] !== "general" && instruction["hold-level"] !== "auto-refresh") {
            throw new SnapdHttpError(400, `hold action needs "hold-level" "general" or "auto-refresh"`, undefined);
          }
          const time = instruction.time ?? "";
          if (time !== "forever" && Number.isNaN(Date.parse(time))) {
            throw new SnapdHttpError(400, `hold action needs "time": "forever" or an RFC 3339 time, got "${time}"`, undefined);
          }
          hold = time === "forever" ? HOLD_FOREVER : wireTimestamp(new Date(time));
        }
        snap.hold = hold;
        // Holding creates no tasks: snapd returns a change that is already done.
        const record = this.startChange(`${instruction.action}-snap`, name, `${instruction.action} "${name}"`, snap.serviceRunning, snap.revision, () => snap.revision);
        this.finish(record);
        return asyncResponse(record.id);
      }
      default:
        throw new SnapdHttpError(400, `unknown action "${instruction.action}"`, undefined);
    }
  }

  private resolveRevision(name: string, revision: string | undefined, channel: string): StoreRevision {
    const revisions = this.store.get(name);
    if (revision !== undefined) {
      const found = revisions?.get(revision);
      if (found === undefined) {
        throw new SnapdHttpError(404, `snap "${name}" revision ${revision} is not available`, "snap-revision-not-available", name);
      }
      return found;
    }
    const inChannel = [...(revisions?.values() ?? [])].filter((candidate) => (candidate.channel ?? "latest/stable") === channel);
    const newest = inChannel.sort((a, b) => compareRevisions(b.revision, a.revision))[0];
    if (newest === undefined) {
      throw new SnapdHttpError(404, `snap "${name}" has no revision in channel "${channel}"`, "snap-channel-not-available", name);
    }
    return newest;
  }

  private startChange(
    kind: string,
    snap: string,
    summary: string,
    serviceWasRunning: boolean,
    from: string | undefined,
    apply: () => string,
  ): ChangeRecord {
    this.changeCounter += 1;
    const record: ChangeRecord = {
      id: String(this.changeCounter),
      kind,
      snap,
      summary,
      status: "Doing",
      err: undefined,
      polls: 0,
      pollsUntilReady: this.pollsUntilReady,
      spawnTime: this.timestamp(),
      readyTime: undefined,
      apply,
      fail: undefined,
      serviceWasRunning,
      from,
    };
    this.changes.set(record.id, record);
    this.emit({ type: "change-started", change: snapshotChange(record) });
    return record;
  }

  private poll(record: ChangeRecord): void {
    record.polls += 1;
    if (record.status === "Doing" && record.polls > record.pollsUntilReady) this.finish(record);
  }

  private finish(record: ChangeRecord): void {
    const snap = this.installed.get(record.snap);
    record.readyTime = this.timestamp();
    if (record.fail !== undefined) {
      record.status = "Error";
      record.err = `cannot perform the following tasks:\n- ${record.summary} (${record.fail})`;
      if (snap !== undefined) snap.serviceRunning = record.serviceWasRunning;
      this.emit({ type: "change-failed", change: snapshotChange(record) });
      return;
    }
    const to = record.apply();
    record.status = "Done";
    const after = this.installed.get(record.snap);
    if (after !== undefined) after.serviceRunning = record.serviceWasRunning;
    this.emit({ type: "change-done", change: snapshotChange(record), from: record.from, to });
  }

  private emit(event: SnapdEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  private timestamp(): string {
    return wireTimestamp(this.now());
  }

  private snapJson(snap: MutableSnap): Record<string, unknown> {
    return {
      id: `fake-${snap.name}-id`,
      name: snap.name,
      type: "app",
      version: snap.version,
      revision: snap.revision,
      channel: snap.channel,
      "tracking-channel": snap.trackingChannel,
      confinement: "strict",
      status: "active",
      "install-date": snap.installDate,
      ...(snap.hold === undefined ? {} : { hold: snap.hold }),
      apps: [{ snap: snap.name, name: "daemon", daemon: "simple", enabled: true, active: snap.serviceRunning }],
    };
  }
}

function validPolls(polls: number): number {
  if (!Number.isSafeInteger(polls) || polls < 0) throw new FakeSnapdError("FAKE_SNAPD_INVALID_POLLS", `pollsUntilReady must be a whole number ≥ 0, got ${polls}; pass 0 to answer at once`);
  return polls;
}

/** Numeric revisions compare as numbers; side-loaded `x<N>` ones sort below store revisions. */
function compareRevisions(a: string, b: string): number {
  const numeric = (revision: string): number => (/^\d+$/.test(revision) ? Number(revision) : -Number(revision.replace(/^x/, "")));
  return numeric(a) - numeric(b);
}

function snapshotChange(record: ChangeRecord): SnapChange {
  return {
    id: record.id,
    kind: record.kind,
    snap: record.snap,
    summary: record.summary,
    status: record.status,
    err: record.err,
    polls: record.polls,
  };
}

function changeJson(record: ChangeRecord): Record<string, unknown> {
  return {
    id: record.id,
    kind: record.kind,
    summary: record.summary,
    status: record.status,
    ready: record.status !== "Doing",
    "spawn-time": record.spawnTime,
    ...(record.readyTime === undefined ? {} : { "ready-time": record.readyTime }),
    ...(record.err === undefined ? {} : { err: record.err }),
    tasks: [
      {
        id: `${record.id}0`,
        kind: record.kind,
        summary: record.summary,
        status: record.status,
        log: record.err === undefined ? [] : [`${record.readyTime ?? ""} ERROR ${record.fail ?? ""}`],
        progress: { label: "", done: record.status === "Doing" ? 0 : 1, total: 1 },
      },
    ],
    data: { "snap-names": [record.snap] },
  };
}

function syncResponse(result: unknown): { statusCode: number; payload: unknown } {
  return { statusCode: 200, payload: { type: "sync", "status-code": 200, status: "OK", result } };
}

function asyncResponse(change: string): { statusCode: number; payload: unknown } {
  return { statusCode: 202, payload: { type: "async", "status-code": 202, status: "Accepted", result: null, change } };
}

function methodNotAllowed(method: string, path: string): SnapdHttpError {
  return new SnapdHttpError(405, `method ${method} not allowed on ${path}`, undefined);
}

function errorPayload(error: SnapdHttpError): unknown {
  return {
    type: "error",
    "status-code": error.statusCode,
    status: STATUS_CODES[error.statusCode] ?? "Error",
    result: {
      message: error.message,
      ...(error.kind === undefined ? {} : { kind: error.kind }),
      ...(error.value === undefined ? {} : { value: error.value }),
    },
  };
}

