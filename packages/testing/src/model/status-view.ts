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
  /** Machines: the installed snap (revision, version) and whether its service runs, when the model knows it. */
  readonly snap?: UnitWorkloadRow | undefined;
}

/** The workload installed on a unit's machine, as {@link UnitStatusRow.snap} shows it. */
export interface UnitWorkloadRow {
  readonly name: string;
  readonly revision: string | undefined;
  readonly version: string | undefined;
  readonly running: boolean;
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
    snap?: UnitWorkloadRow | undefined;
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
      ...(unit.snap === undefined ? {} : { snap: { ...unit.snap } }),
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
  const withWorkloads = view.units.some((unit) => unit.snap !== undefined);
  const header = ["Unit", "Workload", "Agent", "Version", "Rev", ...(withPods ? ["Pod"] : []), ...(withWorkloads ? ["Snap"] : []), "Message"];
  const unitRows = view.units.map((unit) => [
    `${unit.name}${unit.leader ? "*" : ""}`,
    unit.workload,
    unit.agent,
    unit.workloadVersion,
    String(unit.charmRevision),
    ...(withPods ? [unit.pod === undefined ? "" : `${unit.pod.revision}${unit.pod.ready ? "" : " (not ready)"}`] : []),
    ...(withWorkloads ? [workloadCell(unit.snap)] : []),
    unit.message,
  ]);
  return `${appTable}\n\n${table([header, ...unitRows])}\n`;
}

function workloadCell(workload: UnitWorkloadRow | undefined): string {
  if (workload === undefined) return "";
  if (workload.revision === undefined) return `${workload.name} (not installed)`;
  const version = workload.version === undefined ? "" : ` (${workload.version})`;
  return `${workload.name} ${workload.revision}${version}${workload.running ? "" : " stopped"}`;
}
