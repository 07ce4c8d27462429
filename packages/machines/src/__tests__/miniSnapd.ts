import { createServer, type Server } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A small stand-in for snapd used until @refresh/testing's fake snapd is wired in: it keeps
 * installed revisions, turns refreshes into changes that finish after a number of polls,
 * and can fail them.
 */
export interface MiniSnapd {
  readonly socketPath: string;
  readonly installed: Map<string, string>;
  /** Revisions the "store" has, per snap. */
  readonly available: Map<string, Set<string>>;
  /** Polls a change stays in "Doing" before it ends. */
  pollsUntilDone: number;
  /** Make the next change end in Error; `afterSwitch` means the revision changed anyway. */
  failNext: { afterSwitch: boolean } | undefined;
  /** Answer every request with this HTTP status and body instead. */
  broken: { status: number; body: string } | undefined;
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startMiniSnapd(): Promise<MiniSnapd> {
  const socketPath = join(mkdtempSync(join(tmpdir(), "mini-snapd-")), "snapd.socket");
  const changes = new Map<string, { polls: number; outcome: "Done" | "Error"; apply: () => void }>();
  let nextChange = 1;
  const state: Omit<MiniSnapd, "close"> & { server?: Server } = {
    socketPath,
    installed: new Map(),
    available: new Map(),
    pollsUntilDone: 2,
    failNext: undefined,
    broken: undefined,
    requests: [],
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      state.requests.push(`${req.method} ${req.url}`);
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(typeof body === "string" ? body : JSON.stringify(body));
      };
      if (state.broken !== undefined) return reply(state.broken.status, state.broken.body);
      const url = new URL(req.url ?? "/", "http://localhost");
      if (req.method === "GET" && url.pathname === "/v2/snaps") {
        const names = (url.searchParams.get("snaps") ?? "").split(",").filter((name) => name !== "");
        const result = names.flatMap((name) => {
          const revision = state.installed.get(name);
          return revision === undefined ? [] : [{ name, revision, version: `v${revision}`, status: "active" }];
        });
        return reply(200, { type: "sync", "status-code": 200, status: "OK", result });
      }
      const snapMatch = /^\/v2\/snaps\/([^/]+)$/.exec(url.pathname);
      if (req.method === "POST" && snapMatch?.[1] !== undefined) {
        const name = snapMatch[1];
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { action: string; revision: string };
        if (body.action === "refresh" && !state.installed.has(name)) {
          return reply(404, { type: "error", "status-code": 404, result: { message: `snap "${name}" is not installed`, kind: "snap-not-installed" } });
        }
        if (!(state.available.get(name)?.has(body.revision) ?? false)) {
          return reply(404, { type: "error", "status-code": 404, result: { message: "no such revision", kind: "snap-revision-not-available" } });
        }
        const id = String(nextChange++);
        const failure = state.failNext;
        state.failNext = undefined;
        changes.set(id, {
          polls: state.pollsUntilDone,
          outcome: failure === undefined ? "Done" : "Error",
          apply: () => {
            if (failure === undefined || failure.afterSwitch) state.installed.set(name, body.revision);
          },
        });
        return reply(202, { type: "async", "status-code": 202, status: "Accepted", change: id });
      }
      const changeMatch = /^\/v2\/changes\/([^/]+)$/.exec(url.pathname);
      if (req.method === "GET" && changeMatch?.[1] !== undefined) {
        const entry = changes.get(changeMatch[1]);
        if (entry === undefined) return reply(404, { type: "error", "status-code": 404, result: { message: "no such change" } });
        if (entry.polls > 0) {
          entry.polls -= 1;
          return reply(200, { type: "sync", result: { id: changeMatch[1], status: "Doing", ready: false } });
        }
        entry.apply();
        entry.apply = () => undefined;
        return reply(200, {
          type: "sync",
          result: { id: changeMatch[1], status: entry.outcome, ready: true, ...(entry.outcome === "Error" ? { err: "cannot perform the following tasks" } : {}) },
        });
      }
      return reply(404, { type: "error", "status-code": 404, result: { message: "not found" } });
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return Object.assign(state, {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as MiniSnapd;
}
