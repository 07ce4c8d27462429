import { describe, expect, it } from "vitest";
import { MachinesInvariants, type WatchableSnapd } from "./invariants.js";

type Listener = Parameters<WatchableSnapd["subscribe"]>[0];

/** A snapd whose changes the test drives by hand. */
class ScriptedSnapd implements WatchableSnapd {
  readonly #listeners: Listener[] = [];
  doing = false;
  revision: string | undefined;

  constructor(revision?: string) {
    this.revision = revision;
  }
  subscribe(listener: Listener): () => void {
    this.#listeners.push(listener);
    return () => undefined;
  }
  allChanges(): { status: string }[] {
    return this.doing ? [{ status: "Doing" }] : [];
  }
  snap(): { revision: string } | undefined {
    return this.revision === undefined ? undefined : { revision: this.revision };
  }
  start(): void {
    this.doing = true;
    for (const listener of this.#listeners) listener({ type: "change-started", change: { kind: "refresh-snap", snap: "db" } });
  }
  finish(to: string): void {
    const from = this.revision;
    this.doing = false;
    this.revision = to;
    for (const listener of this.#listeners) listener({ type: "change-done", change: { kind: "refresh-snap", snap: "db" }, from, to });
  }
}

const ORIGINALS = {
  original_workload_version: '"16.4"',
  original_workload_container_version: '"182"',
  original_installed_workload_container_matched_pinned_container: "true",
  original_charm_version: '"16/1.19.0"',
  original_charm_revision: '"ch:amd64/noble/db-602"',
};

function model(pause = "first") {
  const data: Record<string, Record<string, string>> = {
    "db/0": { installed_snap_revision: '"182"' },
    "db/1": { installed_snap_revision: '"182"' },
    "db/2": { installed_snap_revision: '"182"' },
  };
  const app: Record<string, string> = { ...ORIGINALS };
  const invariants = new MachinesInvariants({
    snapName: "db",
    view: { units: () => Object.keys(data), unitData: (unit) => data[unit] ?? {}, appData: () => app, pauseOf: () => pause },
  });
  const snapds = Object.fromEntries(Object.keys(data).map((unit) => [unit, new ScriptedSnapd("182")]));
  for (const [unit, snapd] of Object.entries(snapds)) {
    invariants.attachSnapd(unit, snapd);
    invariants.createEnded(unit, "ready");
  }
  return { data, app, invariants, snapds: snapds as Record<"db/0" | "db/1" | "db/2", ScriptedSnapd> };
}

describe("MachinesInvariants", () => {
  it("accepts the highest unit refreshing first, then the next after resume-refresh", () => {
    const { data, invariants, snapds } = model();
    invariants.eventStarted("db/2", { kind: "hook", name: "upgrade-charm" });
    snapds["db/2"].start();
    snapds["db/2"].finish("183");
    data["db/2"] = { installed_snap_revision: '"183"', next_unit_allowed_to_refresh_if_this_units_snap_revision_and_databag_are_up_to_date: "true" };
    invariants.eventStarted("db/1", { kind: "action", name: "resume-refresh", params: { "check-health-of-refreshed-units": true } });
    snapds["db/1"].start();
    snapds["db/1"].finish("183");
    expect(invariants.check()).toBeUndefined();
  });

  it("catches two snap changes at once", () => {
    const { invariants, snapds } = model("none");
    snapds["db/2"].start();
    snapds["db/1"].start();
    expect(invariants.check()).toMatch(/db\/1 started a snap change while db\/2 had one running/);
  });

  it("lets machines install the snap for the first time together, as at deployment", () => {
    const { invariants } = model("none");
    const fresh = { a: new ScriptedSnapd(), b: new ScriptedSnapd() };
    for (const [unit, snapd] of [["db/3", fresh.a], ["db/4", fresh.b]] as const) {
      invariants.attachSnapd(unit, snapd);
      invariants.createEnded(unit, "ready");
    }
    // Neither machine has a workload that could be down while it installs.
    fresh.a.start();
    fresh.b.start();
    expect(invariants.check()).toBeUndefined();
  });

  it("still catches two refreshes at once once the first install is done", () => {
    const { invariants, snapds } = model("none");
    const fresh = new ScriptedSnapd();
    invariants.attachSnapd("db/3", fresh);
    invariants.createEnded("db/3", "ready");
    fresh.start();
    fresh.finish("182");
    fresh.start();
    snapds["db/2"].start();
    expect(invariants.check()).toMatch(/db\/2 started a snap change while db\/3 had one running/);
  });

  it("catches a unit refreshing ahead of an unhealthy predecessor", () => {
    const { data, invariants, snapds } = model("none");
    data["db/2"] = { installed_snap_revision: '"183"' };
    invariants.eventStarted("db/1", { kind: "hook", name: "update-status" });
    snapds["db/1"].start();
    snapds["db/1"].finish("183");
    expect(invariants.check()).toMatch(/db\/1 refreshed its snap 182 → 183 while db\/2.*healthy=false/);
  });

  it("catches a unit refreshing past the pause without resume-refresh, but not the override", () => {
    const { data, invariants, snapds } = model("first");
    data["db/2"] = { installed_snap_revision: '"183"', next_unit_allowed_to_refresh_if_this_units_snap_revision_and_databag_are_up_to_date: "true" };
    invariants.eventStarted("db/1", { kind: "hook", name: "update-status" });
    snapds["db/1"].start();
    snapds["db/1"].finish("183");
    expect(invariants.check()).toMatch(/db\/1 \(index 1 of the order\).*holds it until resume-refresh/);

    invariants.eventStarted("db/0", { kind: "action", name: "resume-refresh", params: { "check-health-of-refreshed-units": false } });
    snapds["db/0"].start();
    snapds["db/0"].finish("183");
    expect(invariants.check()).toBeUndefined();
  });

  it("catches a snap change in an event where the peer relation was not ready, and a snap on a unit never ready", () => {
    const { invariants } = model();
    const fresh = new ScriptedSnapd();
    invariants.attachSnapd("db/3", fresh);
    invariants.eventStarted("db/3", { kind: "hook", name: "install" });
    invariants.createEnded("db/3", "peer-relation-not-ready");
    fresh.start();
    fresh.finish("183");
    const found = invariants.check();
    expect(found).toMatch(/db\/3 changed its snap .* peer-relation-not-ready/);
    expect(found).toMatch(/db\/3 has snap revision 183 installed although/);
  });

  it("catches lost original versions, and original versions that change during a refresh", () => {
    const { app, data, invariants } = model();
    expect(invariants.check()).toBeUndefined();
    data["db/0"] = { installed_snap_revision: '"183"' };
    app["original_workload_container_version"] = '"183"';
    expect(invariants.check()).toMatch(/changed to snap revision 183 while db\/1 still publishes 182/);
    delete app["original_charm_version"];
    expect(invariants.check()).toMatch(/original versions were lost/);
  });
});
