import { dirname } from "node:path";
import { z } from "zod";
import type { JujuEvent, RelationId } from "@refresh/juju";
import { TestingError } from "../errors.js";
import { HOOK_SYSTEM_PATH } from "./client.js";

/**
 * What a hook is about, in the shape of `HookContext` from `@refresh/juju` (a HookContext
 * can be passed as is), plus the few facts a HookContext does not carry.
 */
export interface JujuEnvironmentDescription {
  readonly event: JujuEvent;
  readonly unitName: string;
  readonly modelName: string;
  readonly modelUuid: string;
  readonly jujuVersion: string;
  readonly charmDir: string;
  readonly relation?: { readonly endpoint: string; readonly id: RelationId } | undefined;
  readonly remoteUnit?: string | undefined;
  readonly remoteApp?: string | undefined;
  readonly departingUnit?: string | undefined;
  /** Principal unit of a subordinate; Juju sets an empty string otherwise. */
  readonly principalUnit?: string | undefined;
  /** Machines only. */
  readonly machineId?: string | undefined;
  /** Machines only. */
  readonly availabilityZone?: string | undefined;
  readonly apiAddresses?: readonly string[] | undefined;
  /**
   * Variables that are not Juju's but that Juju passes through or the simulator needs, e.g.
   * `KUBERNETES_SERVICE_HOST`/`PORT` or a fake snapd socket. `JUJU_*` names are refused.
   */
  readonly extra?: Readonly<Record<string, string>> | undefined;
}

const unitName = z.string().regex(/^[a-z][a-z0-9-]*\/\d+$/, "expected a unit name such as postgresql-k8s/2");
const descriptionSchema = z.object({
  event: z.union([
    z.object({ kind: z.literal("hook"), name: z.string().min(1) }),
    z.object({ kind: z.literal("action"), name: z.string().min(1), id: z.string().min(1) }),
  ]),
  unitName,
  modelName: z.string().min(1),
  modelUuid: z.string().min(1),
  jujuVersion: z.string().regex(/^\d+\.\d+/, "expected a Juju version such as 3.6.4"),
  charmDir: z.string().startsWith("/", "expected an absolute path"),
  relation: z
    .object({ endpoint: z.string().min(1), id: z.string().regex(/^[a-z][a-z0-9-]*:\d+$/, "expected <endpoint>:<number>") })
    .optional(),
  remoteUnit: z.union([unitName, z.literal("")]).optional(),
  departingUnit: unitName.optional(),
  extra: z
    .record(
      z.string().refine((key) => !key.startsWith("JUJU_"), "extra variables cannot set Juju's own JUJU_* variables"),
      z.string(),
    )
    .optional(),
});

/** A description that would give a hook an environment Juju never produces. */
export class InvalidJujuEnvironmentError extends TestingError {
  declare readonly code: "INVALID_JUJU_ENVIRONMENT";

  constructor(detail: string) {
    super("INVALID_JUJU_ENVIRONMENT", `cannot build the hook environment: ${detail}; fix the simulator's description of the hook`);
  }
}

/**
 * The environment Juju gives a hook or action (platform reference §1.2), built from scratch:
 * nothing of the simulator's own environment leaks in. `JUJU_CONTEXT_ID`, the hook-tool
 * socket and `PATH` are added by `runDispatch`.
 */
export function buildJujuEnvironment(description: JujuEnvironmentDescription): Record<string, string> {
  const checked = descriptionSchema.safeParse(description);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new InvalidJujuEnvironmentError(`${issue?.path.join(".") || "description"}: ${issue?.message ?? "invalid"}`);
  }
  const { event } = description;
  const env: Record<string, string> = {
    ...description.extra,
    JUJU_DISPATCH_PATH: `${event.kind === "hook" ? "hooks" : "actions"}/${event.name}`,
    // Empty, not absent, for actions: that is what Juju does and what ops checks.
    JUJU_HOOK_NAME: event.kind === "hook" ? event.name : "",
    JUJU_UNIT_NAME: description.unitName,
    JUJU_MODEL_NAME: description.modelName,
    JUJU_MODEL_UUID: description.modelUuid,
    JUJU_CHARM_DIR: description.charmDir,
    CHARM_DIR: description.charmDir,
    JUJU_VERSION: description.jujuVersion,
    JUJU_PRINCIPAL_UNIT: description.principalUnit ?? "",
    JUJU_MACHINE_ID: description.machineId ?? "",
    JUJU_AVAILABILITY_ZONE: description.availabilityZone ?? "",
    JUJU_API_ADDRESSES: (description.apiAddresses ?? ["10.0.0.1:17070"]).join(" "),
    JUJU_CHARM_HTTP_PROXY: "",
    JUJU_CHARM_HTTPS_PROXY: "",
    JUJU_CHARM_FTP_PROXY: "",
    JUJU_CHARM_NO_PROXY: "",
    CLOUD_API_VERSION: "",
    LANG: "C.UTF-8",
    TERM: "tmux-256color",
    DEBIAN_FRONTEND: "noninteractive",
    APT_LISTCHANGES_FRONTEND: "none",
  };
  if (event.kind === "action") {
    env["JUJU_ACTION_NAME"] = event.name;
    env["JUJU_ACTION_UUID"] = event.id;
    env["JUJU_ACTION_TAG"] = `action-${event.id}`;
  }
  if (description.relation !== undefined) {
    env["JUJU_RELATION"] = description.relation.endpoint;
    env["JUJU_RELATION_ID"] = description.relation.id;
    env["JUJU_REMOTE_APP"] = description.remoteApp ?? "";
    // Present but empty when an application databag change fired the hook.
    env["JUJU_REMOTE_UNIT"] = description.remoteUnit ?? "";
  }
  if (description.departingUnit !== undefined) env["JUJU_DEPARTING_UNIT"] = description.departingUnit;
  return env;
}

/**
 * The `PATH` a simulated hook gets: the hook-tool bin directory first (as on Juju), then the
 * directory of the Node running the simulator (so a charm's `dispatch` can run `node`), then
 * the system directories.
 */
export function hookPath(binDir: string, nodeExecutable: string = process.execPath): string {
  return [binDir, dirname(nodeExecutable), HOOK_SYSTEM_PATH].join(":");
}
