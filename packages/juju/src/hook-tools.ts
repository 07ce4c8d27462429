/**
 * The contract between charm code and Juju: one method per hook tool the refresh needs.
 *
 * Two implementations exist: the real one in this package spawns Juju's hook tools (argument
 * arrays, never a shell), and `@refresh/testing` answers from its simulated model. Library
 * code only ever talks to this interface, so both run the same code paths.
 *
 * Every call is asynchronous: the real tools are processes, and the simulator uses the await
 * points to interleave hooks of different units in a seeded order.
 */

/** Statuses a charm can set (`status-set`). */
export type SettableStatus = "active" | "waiting" | "maintenance" | "blocked";

/** Statuses `status-get` can report: the settable ones plus Juju's own. */
export type ReportedStatus = SettableStatus | "error" | "unknown" | "terminated";

/** `juju-log --log-level` values. */
export type LogLevel = "TRACE" | "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

/**
 * A relation as Juju names it in `relation-ids` output and `JUJU_RELATION_ID`:
 * `<endpoint>:<number>`, e.g. `refresh-v-three:3`.
 */
export type RelationId = string;

/** Whose databag a relation read or write addresses. */
export type DatabagOwner = { readonly unit: string } | { readonly app: string };

/** A status as `status-get` reports it (the message is empty when none was set). */
export interface StatusValue {
  readonly status: ReportedStatus;
  readonly message: string;
}

/** `goal-state --format=json`, reduced to what the refresh reads. */
export interface GoalState {
  /** Planned units of this application and their goal status (`active`, `waiting`, `dying`, …). */
  readonly units: Readonly<Record<string, { readonly status: string; readonly since?: string }>>;
  /** Per endpoint, the planned related applications and units. */
  readonly relations: Readonly<Record<string, Readonly<Record<string, { readonly status: string; readonly since?: string }>>>>;
}

/** The hook tools the refresh uses, one method each; see the top of this file for the two implementations. */
export interface HookTools {
  /** `relation-ids <endpoint>`: the relations of this endpoint this unit is in, sorted. */
  relationIds(endpoint: string): Promise<RelationId[]>;
  /** `relation-list -r <id>`: remote units that have joined, from this unit's view; never itself. */
  relationList(relation: RelationId): Promise<string[]>;
  /** `relation-list -r <id> --app`: the remote application (this application for a peer relation). */
  relationListApp(relation: RelationId): Promise<string>;
  /**
   * `relation-get -r <id> - <owner> [--app]`: the whole databag as Juju stores it (string
   * values; Juju's own keys such as `private-address` included). Decode it through a schema.
   */
  relationGet(relation: RelationId, owner: DatabagOwner): Promise<Record<string, string>>;
  /**
   * `relation-set -r <id> [--app] --file -`: set (string) or delete (null) keys of this unit's
   * databag, or of the application's when `app` is true (leader only). Buffered by Juju until
   * the hook exits successfully.
   */
  relationSet(relation: RelationId, changes: Readonly<Record<string, string | null>>, options?: { app?: boolean }): Promise<void>;

  /** `is-leader`. */
  isLeader(): Promise<boolean>;
  /** `config-get`: every option that is set or has a default. */
  configGet(): Promise<Record<string, unknown>>;
  /** `goal-state`. */
  goalState(): Promise<GoalState>;

  /** `status-set [--application] <status> -- <message>`: applied at once, never rolled back. */
  statusSet(value: { status: SettableStatus; message: string }, options?: { application?: boolean }): Promise<void>;
  /** `status-get [--application]`. */
  statusGet(options?: { application?: boolean }): Promise<StatusValue>;
  /** `application-version-set -- <version>`: the workload version shown by `juju status`. */
  applicationVersionSet(version: string): Promise<void>;

  /** `action-get`: the action's parameters (Juju has validated them against the schema). */
  actionGet(): Promise<Record<string, unknown>>;
  /** `action-set k=v …`: keys are lowercase with dashes; dots nest. */
  actionSet(results: Readonly<Record<string, string>>): Promise<void>;
  /** `action-fail -- <message>`: marks the action failed; the process goes on. */
  actionFail(message: string): Promise<void>;
  /** `action-log -- <message>`: a progress line shown to the user at once. */
  actionLog(message: string): Promise<void>;

  /** `juju-log --log-level <level> -- <message>`. */
  jujuLog(level: LogLevel, message: string): Promise<void>;

  /** `state-get`: this unit's controller-side key/value store (survives pod deletion). */
  stateGet(): Promise<Record<string, string>>;
  /** `state-set` / `state-delete`: buffered until the hook exits successfully; null deletes. */
  stateSet(changes: Readonly<Record<string, string | null>>): Promise<void>;

  /** `resource-get <name>`: local path of a file resource (machine charms). */
  resourceGet(name: string): Promise<string>;
}
