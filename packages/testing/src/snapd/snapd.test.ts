import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { FakeSnapd } from "./snapd.js";
import type { SnapdEvent } from "./snapd.js";

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** What a client of snapd does: HTTP over the unix socket, JSON in and out. */
function call(socketPath: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { host: "localhost", "content-type": "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Polls a change like a client, until it is ready. */
async function waitForChange(socketPath: string, id: string): Promise<{ statuses: string[]; final: Record<string, unknown> }> {
  const statuses: string[] = [];
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const reply = await call(socketPath, "GET", `/v2/changes/${id}`);
    const result = reply.body["result"] as Record<string, unknown>;
    statuses.push(String(result["status"]));
    if (result["ready"] === true) return { statuses, final: result };
  }
  throw new Error("change never became ready");
}

const opened: FakeSnapd[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((snapd) => snapd.close()));
});

async function machine(options: { pollsUntilReady?: number } = {}): Promise<{ snapd: FakeSnapd; socket: string }> {
  const snapd = new FakeSnapd({ pollsUntilReady: options.pollsUntilReady ?? 2 });
  opened.push(snapd);
  snapd.install("charmed-postgresql", { revision: "182", version: "16.4" });
  snapd.addStoreRevision("charmed-postgresql", { revision: "183", version: "16.6" });
  const socket = await snapd.listen();
  return { snapd, socket };
}

describe("FakeSnapd reads", () => {
  it("lists an installed snap with its revision as a string, and nothing for an absent snap", async () => {
    const { socket } = await machine();
    const found = await call(socket, "GET", "/v2/snaps?snaps=charmed-postgresql");
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ type: "sync", "status-code": 200 });
    expect(found.body["result"]).toEqual([expect.objectContaining({ name: "charmed-postgresql", revision: "182", version: "16.4" })]);
    const absent = await call(socket, "GET", "/v2/snaps?snaps=nope");
    expect(absent.body["result"]).toEqual([]);
  });

  it("answers a single snap, or 404 snap-not-found", async () => {
    const { socket } = await machine();
    expect((await call(socket, "GET", "/v2/snaps/charmed-postgresql")).body["result"]).toMatchObject({ revision: "182" });
    const missing = await call(socket, "GET", "/v2/snaps/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ type: "error", "status-code": 404, result: { kind: "snap-not-found" } });
  });

  it("exports SNAPD_SOCKET for the charm and removes the socket on close", async () => {
    const { snapd, socket } = await machine();
    expect(snapd.env()).toEqual({ SNAPD_SOCKET: socket });
    await snapd.close();
    await expect(call(socket, "GET", "/v2/snaps")).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("FakeSnapd refresh", () => {
  it("a refresh change goes Doing → Done and the revision changes; the service is down meanwhile", async () => {
    const { snapd, socket } = await machine({ pollsUntilReady: 2 });
    const events: SnapdEvent[] = [];
    snapd.subscribe((event) => events.push(event));
    const started = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ type: "async", "status-code": 202 });
    expect(snapd.isServiceRunning("charmed-postgresql")).toBe(false);
    expect(snapd.snap("charmed-postgresql")?.revision).toBe("182");
    const { statuses } = await waitForChange(socket, String(started.body["change"]));
    expect(statuses).toEqual(["Doing", "Doing", "Done"]);
    expect(snapd.snap("charmed-postgresql")).toMatchObject({ revision: "183", version: "16.6" });
    expect(snapd.isServiceRunning("charmed-postgresql")).toBe(true);
    expect(events.map((event) => event.type)).toEqual(["change-started", "change-done"]);
    expect(events[1]).toMatchObject({ from: "182", to: "183" });
  });

  it("a failed change reports Error with a message and leaves the revision unchanged", async () => {
    const { snapd, socket } = await machine({ pollsUntilReady: 0 });
    snapd.failNextRefresh("store unreachable");
    const started = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    const { final } = await waitForChange(socket, String(started.body["change"]));
    expect(final["status"]).toBe("Error");
    expect(String(final["err"])).toContain("store unreachable");
    expect(snapd.snap("charmed-postgresql")?.revision).toBe("182");
    expect(snapd.isServiceRunning("charmed-postgresql")).toBe(true);
    // the failure was one-shot
    const again = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    expect((await waitForChange(socket, String(again.body["change"]))).final["status"]).toBe("Done");
  });

  it("keeps a stopped service stopped after the refresh", async () => {
    const { snapd, socket } = await machine({ pollsUntilReady: 0 });
    snapd.setServiceRunning("charmed-postgresql", false);
    const started = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    await waitForChange(socket, String(started.body["change"]));
    expect(snapd.isServiceRunning("charmed-postgresql")).toBe(false);
  });

  it("rejects refreshes snapd would reject, with snapd's error kinds", async () => {
    const { socket } = await machine();
    const unavailable = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "999" });
    expect(unavailable.status).toBe(404);
    expect(unavailable.body).toMatchObject({ result: { kind: "snap-revision-not-available" } });
    const same = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "182" });
    expect(same.body).toMatchObject({ "status-code": 400, result: { kind: "snap-no-update-available" } });
    const notInstalled = await call(socket, "POST", "/v2/snaps/nope", { action: "refresh", revision: "1" });
    expect(notInstalled.status).toBe(400);
    expect((notInstalled.body["result"] as Record<string, unknown>)["kind"]).toBeUndefined();
    const garbage = await call(socket, "POST", "/v2/snaps/charmed-postgresql", "not an instruction");
    expect(garbage.status).toBe(400);
  });

  it("refuses a second change on the same snap while one is in progress", async () => {
    const { socket } = await machine({ pollsUntilReady: 5 });
    await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    const second = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ result: { kind: "snap-change-conflict" } });
  });

  it("completes changes nobody polls when the model lets time pass", async () => {
    const { snapd, socket } = await machine({ pollsUntilReady: 5 });
    const started = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    snapd.completeAllChanges();
    expect(snapd.change(String(started.body["change"]))?.status).toBe("Done");
    expect(snapd.snap("charmed-postgresql")?.revision).toBe("183");
  });

  it("404 for an unknown change", async () => {
    const { socket } = await machine();
    expect((await call(socket, "GET", "/v2/changes/77")).status).toBe(404);
  });
});

describe("FakeSnapd install and holds", () => {
  it("installs a snap from the store through a change", async () => {
    const { snapd, socket } = await machine({ pollsUntilReady: 0 });
    snapd.addStoreRevision("other", { revision: "7", version: "1.0" });
    const started = await call(socket, "POST", "/v2/snaps/other", { action: "install", revision: "7" });
    await waitForChange(socket, String(started.body["change"]));
    expect(snapd.snap("other")?.revision).toBe("7");
    const twice = await call(socket, "POST", "/v2/snaps/other", { action: "install" });
    expect(twice.body).toMatchObject({ result: { kind: "snap-already-installed" } });
  });

  it("holds forever and unholds, shown in the snap's hold field", async () => {
    const { snapd, socket } = await machine();
    const held = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "hold", "hold-level": "general", time: "forever" });
    expect(held.status).toBe(202);
    expect(snapd.change(String(held.body["change"]))?.status).toBe("Done");
    const hold = ((await call(socket, "GET", "/v2/snaps/charmed-postgresql")).body["result"] as Record<string, unknown>)["hold"];
    expect(Date.parse(String(hold))).toBeGreaterThan(Date.parse("2200-01-01"));
    await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "unhold" });
    expect(snapd.snap("charmed-postgresql")?.hold).toBeUndefined();
  });
});

describe("FakeSnapd outages", () => {
  it("missing socket gives ENOENT, refused gives ECONNREFUSED, and it comes back", async () => {
    const { snapd, socket } = await machine();
    await snapd.setOutage("missing");
    await expect(call(socket, "GET", "/v2/snaps")).rejects.toMatchObject({ code: "ENOENT" });
    await snapd.setOutage("refused");
    await expect(call(socket, "GET", "/v2/snaps")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await snapd.setOutage(undefined);
    expect((await call(socket, "GET", "/v2/snaps")).status).toBe(200);
  });

  it("slows changes down on demand and lets a gate hold requests in order", async () => {
    const { snapd, socket } = await machine({ pollsUntilReady: 0 });
    snapd.setPollsUntilReady(3);
    const started = await call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "183" });
    expect((await waitForChange(socket, String(started.body["change"]))).statuses).toEqual(["Doing", "Doing", "Doing", "Done"]);
    const order: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    snapd.setRequestGate(async (request) => {
      if (request.method === "POST") await held;
      order.push(request.method);
    });
    const refresh = call(socket, "POST", "/v2/snaps/charmed-postgresql", { action: "refresh", revision: "182" });
    await call(socket, "GET", "/v2/snaps/charmed-postgresql");
    release();
    expect((await refresh).status).toBe(202);
    expect(order).toEqual(["GET", "POST"]);
  });

  it("records every request", async () => {
    const { snapd, socket } = await machine();
    await call(socket, "GET", "/v2/snaps?snaps=charmed-postgresql");
    await call(socket, "GET", "/v2/snaps/nope");
    expect(snapd.requests).toEqual([
      { method: "GET", path: "/v2/snaps", query: "?snaps=charmed-postgresql", status: 200 },
      { method: "GET", path: "/v2/snaps/nope", query: "", status: 404 },
    ]);
  });

  it("refuses impossible test requests with a stable code", () => {
    const snapd = new FakeSnapd();
    expect(() => snapd.socketPath).toThrow(expect.objectContaining({ code: "FAKE_SNAPD_NOT_LISTENING", message: expect.stringContaining("call listen() first") }));
    expect(() => snapd.setServiceRunning("nope", true)).toThrow(expect.objectContaining({ code: "FAKE_SNAPD_SNAP_NOT_INSTALLED" }));
    expect(() => new FakeSnapd({ pollsUntilReady: -1 })).toThrow(expect.objectContaining({ code: "FAKE_SNAPD_INVALID_POLLS" }));
  });
});
