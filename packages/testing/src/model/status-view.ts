import type { StatusValue } from "@refresh/juju";

/** One unit row of {@link StatusView}. */
export interface UnitStatusRow {
  /** Unit name; `leader` says whether it holds leadership (`*` in the table). */
  readonly name: string;
  readonly leader: boolean;
  readonly workload: StatusValue["status"];
  readonly agent: "idle" | "executing" | "dying";
  readonly message: string;
  readonly workloadVersion: string;
  /** The charm revision whose code the unit runs. */
  readonly charmRevision: number;
  /** Kubernetes: the pod's ControllerRevision and readiness. */
  readonly pod: { readonly revision: string; readonly ready: boolean } | undefined;
}

/** `juju status` of the simulated application, as data. */
export interface StatusView {
  readonly app: {
    readonly name: string;
    readonly status: StatusValue["status"];
    readonly message: string;
    /** Shown like Juju's application version column (the leader's workload version). */
    readonly version: string;
    readonly charmRevision: number | undefined;
    readonly scale: number;
  };
  readonly units: readonly UnitStatusRow[];
}

/** Builds {@link StatusView} from what the simulator knows. */
export function buildStatusView(input: {
  appName: string;
  substrate: "kubernetes" | "machines";
  appStatus: StatusValue;
  appCharmRevision: number | undefined;
  leader: string | undefined;
  units: readonly {
    name: string;
    status: StatusValue;
    agent: "idle" | "executing" | "dying";
    workloadVersion: string;
    charmRevision: number;
    pod: { revision: string; ready: boolean } | undefined;
  }[];
}): StatusView {
  const leaderRow = input.units.find((unit) => unit.name === input.leader);
  return {
    app: {
      name: input.appName,
      status: input.appStatus.status,
      message: input.appStatus.message,
      version: leaderRow?.workloadVersion ?? "",
      charmRevision: input.appCharmRevision,
      scale: input.units.length,
    },
    units: input.units.map((unit) => ({
      name: unit.name,
      leader: unit.name === input.leader,
      workload: unit.status.status,
      agent: unit.agent,
      message: unit.status.message,
      workloadVersion: unit.workloadVersion,
      charmRevision: unit.charmRevision,
      pod: unit.pod === undefined ? undefined : { revision: unit.pod.revision, ready: unit.pod.ready },
    })),
  };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Renders {@link StatusView} as aligned columns, like `juju status`. */
export function renderStatusTable(view: StatusView): string {
  const app = view.app;
  const appTable = table([
    ["App", "Version", "Status", "Scale", "Rev", "Message"],
    [app.name, app.version, app.status, String(app.scale), app.charmRevision === undefined ? "" : String(app.charmRevision), app.message],
  ]);
  const withPods = view.units.some((unit) => unit.pod !== undefined);
  const header = ["Unit", "Workload", "Agent", "Version", "Rev", ...(withPods ? ["Pod"] : []), "Message"];
  const unitRows = view.units.map((unit) => [
    `${unit.name}${unit.leader ? "*" : ""}`,
    unit.workload,
    unit.agent,
    unit.workloadVersion,
    String(unit.charmRevision),
    ...(withPods ? [unit.pod === undefined ? "" : `${unit.pod.revision}${unit.pod.ready ? "" : " (not ready)"}`] : []),
    unit.message,
  ]);
  return `${appTable}\n\n${table([header, ...unitRows])}\n`;
}
