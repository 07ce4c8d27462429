import type { HookTools, RelationId } from "./hook-tools.js";

/** What Juju is running: a hook (from `hooks/<name>`) or an action (from `actions/<name>`). */
export type JujuEvent =
  | { readonly kind: "hook"; readonly name: string }
  | { readonly kind: "action"; readonly name: string; readonly id: string };

/**
 * Everything the `JUJU_*` environment says about the current event, parsed and validated
 * once at start-up. Library code reads this, never `process.env`, so the simulator can run
 * several units in one process.
 */
export interface HookContext {
  readonly event: JujuEvent;
  /** e.g. `postgresql-k8s/2` */
  readonly unitName: string;
  /** e.g. `postgresql-k8s` */
  readonly appName: string;
  /** e.g. `2` */
  readonly unitNumber: number;
  readonly modelName: string;
  readonly modelUuid: string;
  /** Juju agent version, e.g. `3.6.4`. */
  readonly jujuVersion: string;
  /** The unit's charm directory; every charm file (and local state) lives below it. */
  readonly charmDir: string;
  /** The relation of a relation hook. */
  readonly relation: { readonly endpoint: string; readonly id: RelationId } | undefined;
  /** `JUJU_REMOTE_UNIT`: the unit a relation hook is about (empty for app-data changes). */
  readonly remoteUnit: string | undefined;
  /** `JUJU_REMOTE_APP` */
  readonly remoteApp: string | undefined;
  /** `JUJU_DEPARTING_UNIT` of a `-relation-departed` hook (may be this unit). */
  readonly departingUnit: string | undefined;
  /**
   * The rest of the process environment, for the few values that are not Juju's (for
   * example `KUBERNETES_SERVICE_HOST`). Never holds secrets the library would log.
   */
  readonly environment: Readonly<Record<string, string | undefined>>;
}

/** A logger that writes through `juju-log`, so lines land in `juju debug-log`. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

/** What a charm's handler receives for one event. */
export interface CharmRun {
  readonly context: HookContext;
  readonly tools: HookTools;
  readonly log: Logger;
}

/**
 * A charm's code: called once per event. Throwing fails the hook (Juju discards the hook's
 * relation and state writes and retries it); for an action, it fails the action.
 */
export type CharmHandler = (run: CharmRun) => Promise<void>;
