import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SnapdClient, SnapdError, snapdSocketPath } from "./snapd.js";
import { startMiniSnapd, type MiniSnapd } from "./__tests__/miniSnapd.js";

describe("snapdSocketPath", () => {
  it("uses SNAPD_SOCKET when set and the system socket otherwise", () => {
    expect(snapdSocketPath({ SNAPD_SOCKET: "/tmp/x.sock" })).toBe("/tmp/x.sock");
    expect(snapdSocketPath({})).toBe("/run/snapd.socket");
    expect(snapdSocketPath({ SNAPD_SOCKET: "" })).toBe("/run/snapd.socket");
  });
});

describe("SnapdClient", () => {
  let snapd: MiniSnapd;
  let client: SnapdClient;
  beforeEach(async () => {
    snapd = await startMiniSnapd();
    snapd.available.set("charmed-postgresql", new Set(["182", "183"]));
    client = new SnapdClient({ socketPath: snapd.socketPath, pollIntervalMs: 1, changeTimeoutMs: 2_000 });
  });
  afterEach(async () => snapd.close());

  it("reports null for a snap that is not installed and the revision once it is", async () => {
    expect(await client.installedRevision("charmed-postgresql")).toBeNull();
    snapd.installed.set("charmed-postgresql", "182");
    expect(await client.installedRevision("charmed-postgresql")).toBe("182");
  });

  it("installs a missing snap and refreshes an installed one, waiting for the change", async () => {
    await client.refresh("charmed-postgresql", "182");
    expect(snapd.installed.get("charmed-postgresql")).toBe("182");
    await client.refresh("charmed-postgresql", "183");
    expect(await client.installedRevision("charmed-postgresql")).toBe("183");
    expect(snapd.requests.filter((line) => line.startsWith("GET /v2/changes/")).length).toBeGreaterThanOrEqual(6);
  });

  it("does nothing when the revision is already installed", async () => {
    snapd.installed.set("charmed-postgresql", "183");
    await client.refresh("charmed-postgresql", "183");
    expect(snapd.requests.filter((line) => line.startsWith("POST"))).toEqual([]);
  });

  it("raises SNAPD_CHANGE_FAILED when the change ends in error", async () => {
    snapd.installed.set("charmed-postgresql", "182");
    snapd.failNext = { afterSwitch: false };
    await expect(client.refresh("charmed-postgresql", "183")).rejects.toMatchObject({ code: "SNAPD_CHANGE_FAILED" });
    expect(await client.installedRevision("charmed-postgresql")).toBe("182");
  });

  it("raises SNAPD_REQUEST_FAILED with snapd's error kind", async () => {
    snapd.installed.set("charmed-postgresql", "182");
    const error = await client.refresh("charmed-postgresql", "999").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SnapdError);
    expect(error).toMatchObject({ code: "SNAPD_REQUEST_FAILED", kind: "snap-revision-not-available", httpStatus: 404 });
  });

  it("times out with a clear error when the change never finishes", async () => {
    snapd.installed.set("charmed-postgresql", "182");
    snapd.pollsUntilDone = 1_000_000;
    await expect(client.refresh("charmed-postgresql", "183", { timeoutMs: 30 })).rejects.toMatchObject({
      code: "SNAPD_CHANGE_TIMEOUT",
      message: expect.stringContaining("change 1 is still Doing") as unknown,
    });
  });

  it("raises SNAPD_UNREACHABLE when the socket does not exist", async () => {
    const missing = new SnapdClient({ socketPath: `${snapd.socketPath}.missing` });
    await expect(missing.installedRevision("x")).rejects.toMatchObject({ code: "SNAPD_UNREACHABLE" });
  });

  it("rejects answers that are not JSON or not shaped like snapd's", async () => {
    snapd.broken = { status: 200, body: "<html>" };
    await expect(client.installedRevision("x")).rejects.toMatchObject({ code: "SNAPD_BAD_RESPONSE" });
    snapd.broken = { status: 200, body: JSON.stringify({ type: "sync", result: [{ name: "x" }] }) };
    await expect(client.installedRevision("x")).rejects.toMatchObject({ code: "SNAPD_BAD_RESPONSE" });
    snapd.broken = { status: 200, body: JSON.stringify({ type: "sync", result: [{ name: "x", revision: "1" }, { name: "y", revision: "2" }] }) };
    await expect(client.installedRevision("x")).rejects.toMatchObject({ code: "SNAPD_BAD_RESPONSE" });
  });

  it("counts every HTTP request", async () => {
    snapd.installed.set("charmed-postgresql", "182");
    await client.installedRevision("charmed-postgresql");
    expect(client.requestCount).toBe(1);
    expect(snapd.requests.length).toBe(1);
  });
});
