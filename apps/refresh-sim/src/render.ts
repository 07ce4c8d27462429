import type { StatusSnapshot } from "./world.js";

/** Whether to colour output written to `stream`: only on a terminal, and never with NO_COLOR set. */
export function useColour(stream: { isTTY?: boolean }, environment: Readonly<Record<string, string | undefined>>): boolean {
  const noColour = environment["NO_COLOR"];
  return stream.isTTY === true && (noColour === undefined || noColour === "");
}

/** ANSI styling that turns into plain text when colour is off. */
export interface Palette {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly status: (status: string, text: string) => string;
}

/** A {@link Palette}: ANSI codes when `enabled`, identity otherwise. */
export function palette(enabled: boolean): Palette {
  const wrap = (code: string) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  const byStatus: Record<string, (text: string) => string> = {
    active: wrap("32"),
    waiting: wrap("33"),
    maintenance: wrap("33"),
    blocked: wrap("31"),
    error: wrap("1;31"),
  };
  return { bold: wrap("1"), dim: wrap("2"), status: (status, text) => (byStatus[status] ?? ((plain: string) => plain))(text) };
}

/** Renders a snapshot like `juju status`: the application line, then one line per unit. */
export function renderStatus(appName: string, snapshot: StatusSnapshot, colours: Palette): string {
  // Both tables: a bold header, then rows whose second column (the status) is coloured.
  const table = (rows: readonly (readonly string[])[]): string[] =>
    align(rows).map((row, index) =>
      index === 0
        ? colours.bold(row.join("  ").trimEnd())
        : row.map((cell, column) => (column === 1 ? colours.status(cell, cell) : cell)).join("  ").trimEnd(),
    );
  const appTable = table([
    ["App", "Status", "Message"],
    [appName, snapshot.app.status, snapshot.app.message],
  ]);
  const unitTable = table([
    ["Unit", "Workload", "Rev", "Version", "Running", "Message"],
    ...snapshot.units.map((unit) => [
      `${unit.name}${unit.leader ? "*" : ""}`,
      unit.status,
      String(unit.charmRevision),
      unit.workloadVersion,
      unit.workloadRunning ? "yes" : "no",
      unit.message,
    ]),
  ]);
  return [...appTable, "", ...unitTable].join("\n");
}

function align(rows: readonly (readonly string[])[]): string[][] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))));
}
