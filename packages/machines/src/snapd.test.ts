import { createServer, type Server } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeSnapd } from "@refresh/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SnapdClient, SnapdError, snapdSocketPath } from "./snapd.js";

const SNAP = "charmed-postgresql";

describe("snapdSocketPath", () => {
  it("uses SNAPD_SOCKET when set and the system socket otherwise", () => {
    expect(snapdSocketPath({ SNAPD_SOCKET: "/tmp/x.sock" })).toBe("/tmp/x.sock");
    expect(snapdSocketPath({})).toBe("/run/snapd.socket");
    expect(snapdSocketPath({ SNAPD_SOCKET: "" })).toBe("/run/snapd.socket");
  });
});

describe("SnapdClient against @refresh/testing's FakeSnapd", () => {
  let snapd: FakeSnapd;
  let client: SnapdClient;
  beforeEach(async () => {
    snapd = new FakeSnapd({ pollsUntilReady: 2 });
    snapd.addStoreRevision(SNAP, { revision: "182", version: "16.4" });
    snapd.addStoreRevision(SNAP, { revision: "183", version: "16.8" });
    client = new SnapdClient({ socketPath: await snapd.listen(), pollIntervalMs: 1, changeTimeoutMs: 2_000 });
  });
  afterEach(async () => snapd.close());

  const paths = (method: string, prefix: string) => snapd.requests.filter((request) => request.method === method && request.path.startsWith(prefix));

  it("reports null for a snap that is not installed and the revision once it is", async () => {
    expect(await client.installedRevision(SNAP)).toBeNull();
    snapd.install(SNAP, { revision: "182", version: "16.4" });
    expect(await client.installedRevision(SNAP)).toBe("182");
  });

  it("installs a missing snap and refreshes an installed one, waiting for the change", async () => {
    await client.refresh(SNAP, "182");
    expect(snapd.snap(SNAP)?.revision).toBe("182");
    await client.refresh(SNAP, "183");
    expect(await client.installedRevision(SNAP)).toBe("183");
    expect(snapd.allChanges().map((change) => [change.kind, change.status])).toEqual([
      ["install-snap", "Done"],
      ["refresh-snap", "Done"],
    ]);
    expect(paths("GET", "/v2/changes/").length).toBeGreaterThanOrEqual(6);
  });

  it("does nothing when the revision is already installed", async () => {
    snapd.install(SNAP, { revision: "183", version: "16.8" });
    await client.refresh(SNAP, "183");
    expect(paths("POST", "/v2/snaps")).toEqual([]);
  });

  it("raises SNAPD_CHANGE_FAILED when the change ends in error, and the revision stays", async () => {
    snapd.install(SNAP, { revision: "182", version: "16.4" });
    snapd.failNextRefresh();
    await expect(client.refresh(SNAP, "183")).rejects.toMatchObject({ code: "SNAPD_CHANGE_FAILED", message: expect.stringContaining("cannot download snap") as unknown });
    expect(await client.installedRevision(SNAP)).toBe("182");
  });

  it("raises SNAPD_REQUEST_FAILED with snapd's error kind", async () => {
    snapd.install(SNAP, { revision: "182", version: "16.4" });
    const error = await client.refresh(SNAP, "999").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SnapdError);
    expect(error).toMatchObject({ code: "SNAPD_REQUEST_FAILED", kind: "snap-revision-not-available", httpStatus: 404 });
    // That kind means the store lacks the pinned revision: the resolution points at the pin.
    expect((error as SnapdError).resolution).toContain("refresh_versions.toml");
  });

  it("times out with a clear error when the change never finishes", async () => {
    snapd.install(SNAP, { revision: "182", version: "16.4" });
    snapd.setPollsUntilReady(1_000_000);
    await expect(client.refresh(SNAP, "183", { timeoutMs: 30 })).rejects.toMatchObject({
      code: "SNAPD_CHANGE_TIMEOUT",
      message: expect.stringContaining("change 1 is still Doing") as unknown,
    });
  });

  it("raises SNAPD_UNREACHABLE when the socket is missing or nobody listens", async () => {
    await snapd.setOutage("missing");
    await expect(client.installedRevision(SNAP)).rejects.toMatchObject({ code: "SNAPD_UNREACHABLE", message: expect.stringContaining("ENOENT") as unknown });
    await snapd.setOutage("refused");
    await expect(client.installedRevision(SNAP)).rejects.toMatchObject({ code: "SNAPD_UNREACHABLE", message: expect.stringContaining("ECONNREFUSED") as unknown });
    await snapd.setOutage(undefined);
    expect(await client.installedRevision(SNAP)).toBeNull();
  });

  it("counts every HTTP request", async () => {
    snapd.install(SNAP, { revision: "182", version: "16.4" });
    await client.installedRevision(SNAP);
    expect(client.requestCount).toBe(1);
    expect(snapd.requests.length).toBe(1);
  });
});

describe("SnapdClient against answers snapd never gives", () => {
  // FakeSnapd only answers like snapd; a bare server stands in for a broken or foreign one.
  let server: Server | undefined;
  afterEach(async () => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))));

  async function answering(status: number, body: string): Promise<SnapdClient> {
    const socketPath = join(mkdtempSync(join(tmpdir(), "broken-snapd-")), "snapd.socket");
    server?.close();
    server = createServer((_request, response) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(body);
    });
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(socketPath, resolve));
    return new SnapdClient({ socketPath });
  }

  it.each([
    ["not JSON", 200, "<html>"],
    ["a snap without a revision", 200, JSON.stringify({ type: "sync", result: [{ name: "x" }] })],
    ["two snaps for one name", 200, JSON.stringify({ type: "sync", result: [{ name: "x", revision: "1" }, { name: "y", revision: "2" }] })],
    ["an unknown response type", 200, JSON.stringify({ type: "weird" })],
  ])("rejects %s as SNAPD_BAD_RESPONSE", async (_name, status, body) => {
    const client = await answering(status, body);
    const error = await client.installedRevision("x").catch((caught: unknown) => caught);
    // Says where to look next: which socket, and snapd's service state and log.
    expect(error).toMatchObject({ code: "SNAPD_BAD_RESPONSE", message: expect.stringContaining(client.socketPath) as unknown });
    expect((error as SnapdError).resolution).toContain("journalctl -u snapd");
  });

  it("names the field snapd got wrong and what it should have held", async () => {
    const client = await answering(200, JSON.stringify({ type: "sync", result: [{ name: "x", revision: 7 }] }));
    await expect(client.installedRevision("x")).rejects.toThrow(/expected string, received number\s+→ at \[0\]\.revision/);
  });

  it("treats a non-2xx status as a failure even with a sync body", async () => {
    const client = await answering(500, JSON.stringify({ type: "sync", result: [] }));
    const error = await client.installedRevision("x").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "SNAPD_REQUEST_FAILED", httpStatus: 500 });
    expect((error as SnapdError).resolution).toContain("`snap changes`");
  });
});
