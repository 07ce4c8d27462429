import { describe, expect, it } from "vitest";
import { palette, renderStatus, useColour } from "./render.js";

describe("colour", () => {
  it("is used only on a terminal and never with NO_COLOR", () => {
    expect(useColour({ isTTY: true }, {})).toBe(true);
    expect(useColour({ isTTY: false }, {})).toBe(false);
    expect(useColour({}, {})).toBe(false);
    expect(useColour({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
  });
});

describe("renderStatus", () => {
  const snapshot = {
    app: { status: "blocked", message: "Refreshing. Run resume-refresh on unit 1" },
    units: [
      { name: "db/0", leader: false, charmRevision: 1, workloadVersion: "1.0", workloadRunning: true, status: "active", message: "" },
      { name: "db/1", leader: true, charmRevision: 2, workloadVersion: "1.1", workloadRunning: false, status: "maintenance", message: "starting" },
    ],
  };

  it("shows the app line and one aligned line per unit, the leader starred", () => {
    const text = renderStatus("db", snapshot, palette(false));
    expect(text).toBe(
      [
        "App  Status   Message",
        "db   blocked  Refreshing. Run resume-refresh on unit 1",
        "",
        "Unit   Workload     Rev  Version  Running  Message",
        "db/0   active       1    1.0      yes",
        "db/1*  maintenance  2    1.1      no       starting",
      ].join("\n"),
    );
  });

  it("colours statuses only when asked", () => {
    expect(renderStatus("db", snapshot, palette(true))).toContain("\u001b[31mblocked\u001b[0m");
    expect(renderStatus("db", snapshot, palette(false))).not.toContain("\u001b[");
  });
});
