import type { SettableStatus, StatusValue } from "@refresh/juju";
import type { LoadedCharm } from "./charm.js";

/** The name of the peer relation the refresh protocol uses; created as part of deploy. */
export const PEER_ENDPOINT = "refresh-v-three";

/** A databag as the controller stores it, with a version bumped on every real change. */
export interface Databag {
  data: Record<string, string>;
  version: number;
}

/** A hook or action waiting to run (or running) on a unit. */
export type HookSpec =
  | {
      readonly kind: "hook";
      readonly name: string;
      /** Relation hooks: the unit the hook is about (empty for app-data changes). */
      readonly remoteUnit?: string;
      readonly relation?: true;
      readonly departingUnit?: string;
    }
  | { readonly kind: "action"; readonly name: string; readonly id: string; readonly params: Record<string, unknown> };

/** What happened to an action, as `juju show-task` reports it. */
export interface ActionOutcome {
  readonly id: string;
  readonly unit: string;
  readonly name: string;
  readonly status: "completed" | "failed";
  /** `action-set` results, nested on dots. */
  readonly results: Record<string, unknown>;
  /** `action-fail` message, or why the action failed. */
  readonly message: string | undefined;
  /** `action-log` lines in order. */
  readonly logs: readonly string[];
}

/** One `juju-log` (or agent) line. */
export interface LogLine {
  readonly step: number;
  readonly unit: string;
  readonly hook: string;
  readonly level: string;
  readonly message: string;
}

/**
 * What the unit agent remembers about which hooks ran (Juju's "local state"). The next hook is
 * computed from the difference between this and the model, like Juju's resolver, which gives
 * Juju's coalescing for free: many writes yield one `-relation-changed`.
 */
export interface UniterState {
  /** Hooks that must run next, in order (install sequence, upgrade sequence, joined → changed). */
  queue: HookSpec[];
  /** A hook that failed and waits to be retried. */
  failed: HookSpec | undefined;
  /** How many times in a row the failed hook has failed. */
  failedAttempts: number;
  /** The unit ran `start` at least once on this pod/charm: relation hooks may run. */
  started: boolean;
  /** The unit ran its `relation-created`: the relation is in its context. */
  inRelation: boolean;
  /** Config generation last delivered by `config-changed`. */
  configSeen: number;
  /** Leadership term last delivered (by `leader-elected` or `leader-settings-changed`). */
  leaderTermSeen: number;
  /** Remote members joined from this unit's view, with the databag version last delivered. */
  members: Map<string, number>;
  /** App databag version last delivered (or written by this unit as leader). */
  appVersionSeen: number;
  /**
   * The agent's cache of remote units' databags: filled on first read, dropped just before a
   * `-joined`/`-changed` for that unit runs. This is where stale reads come from.
   */
  cache: Map<string, Record<string, string>>;
  /** A removed unit ran its teardown `stop`. */
  stoppedForRemoval: boolean;
  /** The test fired `update-status` and it has not run yet. */
  updateStatusPending: boolean;
}

/** A unit of the simulated application. */
export interface UnitRecord {
  readonly name: string;
  readonly number: number;
  life: "alive" | "dying" | "removed";
  /** The charm revision whose code this unit runs. */
  charm: LoadedCharm;
  charmDir: string;
  /** Last status the charm set. */
  status: StatusValue;
  /** Juju's own view: set while a hook is failing. */
  agentError: string | undefined;
  workloadVersion: string;
  /** `state-get` store, kept by the controller. */
  stateStore: Record<string, string>;
  uniter: UniterState;
  /** Work the unit must do before anything else once idle (pod replacement, code swap). */
  transition: UnitTransition | undefined;
  /** Bumped every time the unit gets a new pod or new charm code. */
  incarnation: number;
}

/** A change of charm code or pod that happens when the unit is next idle. */
export type UnitTransition =
  | { readonly kind: "replace-pod"; readonly runStop: boolean; readonly skipUpgradeCharm: boolean; stopDone: boolean }
  | { readonly kind: "swap-code"; readonly to: LoadedCharm; readonly skipUpgradeCharm: boolean };

/** Creates a fresh uniter state (new unit, or a new pod whose agent starts from scratch). */
export function freshUniter(): UniterState {
  return {
    queue: [],
    failed: undefined,
    failedAttempts: 0,
    started: false,
    inRelation: false,
    configSeen: 0,
    leaderTermSeen: 0,
    members: new Map(),
    appVersionSeen: 0,
    cache: new Map(),
    stoppedForRemoval: false,
    updateStatusPending: false,
  };
}

/** The initial unit status Juju shows before the charm sets one. */
export function initialStatus(): StatusValue {
  return { status: "waiting", message: "agent initialising" };
}

/** Whether a `status-set` value is one a charm may set. */
export function isSettableStatus(value: string): value is SettableStatus {
  return value === "active" || value === "waiting" || value === "maintenance" || value === "blocked";
}

/** Applies buffered key changes (null or "" deletes) and reports whether anything changed. */
export function applyChanges(target: Record<string, string>, changes: Readonly<Record<string, string | null>>): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === "") {
      if (key in target) {
        delete target[key];
        changed = true;
      }
    } else if (target[key] !== value) {
      target[key] = value;
      changed = true;
    }
  }
  return changed;
}

/** The name of a hook spec as Juju shows it (`hook failed: "<name>"`). */
export function hookLabel(spec: HookSpec): string {
  return spec.kind === "action" ? `action ${spec.name}` : spec.name;
}

/** `state-set` / `state-delete`: unlike relation data, an empty value is kept; null deletes. */
export function applyStateChanges(target: Record<string, string>, changes: Readonly<Record<string, string | null>>): void {
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete target[key];
    else target[key] = value;
  }
}
