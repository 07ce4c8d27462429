/**
 * Two tiny charms for the harness's own tests, written so that the same handler runs
 * in-process and, through {@link writeTestDispatch}, as a real `dispatch` process (Node runs
 * this file with its types stripped). They talk to the fakes the way real charms do: the
 * Kubernetes one over HTTPS with the service-account token and CA, the machines one over
 * snapd's unix socket.
 *
 * Kept to what Node's type stripping accepts: no enums, no parameter properties.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";

import type { CharmHandler, HookContext } from "@refresh/juju";
import { runCharm } from "@refresh/juju";
import { z } from "zod";

/** The snap the machines test charm installs. */
export const TEST_SNAP = "test-db";

interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
}

function parseBody(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

async function charmRevision(charmDir: string): Promise<string> {
  const url = (await readFile(join(charmDir, ".juju-charm"), "utf8")).trim();
  return url.slice(url.lastIndexOf("-") + 1);
}

function tearingDown(context: HookContext): boolean {
  return context.event.name === "stop" || context.event.name === "remove" || context.departingUnit === context.unitName;
}

// ---- Kubernetes --------------------------------------------------------------------------

const statefulSetSchema = z.object({
  spec: z.object({ updateStrategy: z.object({ rollingUpdate: z.object({ partition: z.number().int() }) }) }),
});

/** One request to the API server the way an in-cluster client makes it (token, CA, merge patch). */
export async function kubernetesRequest(environment: HookContext["environment"], method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const directory = environment["KUBERNETES_SERVICE_ACCOUNT_DIR"] ?? "/var/run/secrets/kubernetes.io/serviceaccount";
  const [token, ca] = await Promise.all([readFile(join(directory, "token"), "utf8"), readFile(join(directory, "ca.crt"), "utf8")]);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      {
        host: environment["KUBERNETES_SERVICE_HOST"],
        port: Number(environment["KUBERNETES_SERVICE_PORT"]),
        method,
        path,
        ca,
        headers: {
          authorization: `Bearer ${token.trim()}`,
          accept: "application/json",
          ...(payload === undefined ? {} : { "content-type": "application/merge-patch+json" }),
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: parseBody(text) }));
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(payload);
  });
}

/**
 * The leader keeps the StatefulSet's partition at the `partition` config value: it reads the
 * StatefulSet over HTTPS and patches it only when it differs. Without `juju trust` it blocks.
 * Every unit reports the charm revision it runs as its workload version.
 */
export const kubernetesTestCharm: CharmHandler = async ({ context, tools }) => {
  if (tearingDown(context)) return;
  await tools.applicationVersionSet(`charm-${await charmRevision(context.charmDir)}`);
  if (!(await tools.isLeader())) {
    await tools.statusSet({ status: "active", message: "" });
    return;
  }
  const config = await tools.configGet();
  const wanted = typeof config["partition"] === "number" ? config["partition"] : 0;
  const namespace = (await readFile(join(context.environment["KUBERNETES_SERVICE_ACCOUNT_DIR"] ?? "", "namespace"), "utf8")).trim();
  const path = `/apis/apps/v1/namespaces/${namespace}/statefulsets/${context.appName}`;
  const read = await kubernetesRequest(context.environment, "GET", path);
  if (read.status !== 200) throw new Error(`reading StatefulSet ${context.appName} answered HTTP ${read.status}`);
  const current = statefulSetSchema.parse(read.body).spec.updateStrategy.rollingUpdate.partition;
  if (current !== wanted) {
    const patched = await kubernetesRequest(context.environment, "PATCH", path, { spec: { updateStrategy: { rollingUpdate: { partition: wanted } } } });
    if (patched.status === 403) {
      await tools.statusSet({ status: "blocked", message: "cannot patch the StatefulSet (HTTP 403): run juju trust" });
      return;
    }
    if (patched.status !== 200) throw new Error(`patching the partition of ${context.appName} answered HTTP ${patched.status}`);
  }
  await tools.statusSet({ status: "active", message: `partition ${wanted}` });
};

// ---- machines ----------------------------------------------------------------------------

const snapsSchema = z.object({ result: z.array(z.object({ revision: z.string(), version: z.string() })) });
const asyncSchema = z.object({ change: z.string() });
const changeSchema = z.object({ result: z.object({ status: z.string(), err: z.string().optional() }) });

function snapdRequest(socketPath: string, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { socketPath, method, path, headers: payload === undefined ? {} : { "content-type": "application/json" } },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: parseBody(text) }));
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(payload);
  });
}

async function installedSnap(socketPath: string): Promise<{ revision: string; version: string } | undefined> {
  const answer = await snapdRequest(socketPath, "GET", `/v2/snaps?snaps=${TEST_SNAP}`);
  return snapsSchema.parse(answer.body).result[0];
}

async function runSnapChange(socketPath: string, instruction: Record<string, string>): Promise<void> {
  const started = await snapdRequest(socketPath, "POST", `/v2/snaps/${TEST_SNAP}`, instruction);
  if (started.status !== 202) throw new Error(`snapd refused to ${instruction["action"] ?? "change"} ${TEST_SNAP}: HTTP ${started.status} ${JSON.stringify(started.body)}`);
  const id = asyncSchema.parse(started.body).change;
  for (;;) {
    const polled = changeSchema.parse((await snapdRequest(socketPath, "GET", `/v2/changes/${id}`)).body).result;
    if (polled.status === "Done") return;
    if (polled.status === "Error") throw new Error(`snap change ${id} failed: ${polled.err ?? "no reason given"}`);
  }
}

async function workloadHealthy(context: HookContext): Promise<boolean> {
  const directory = context.environment["REFRESH_SIM_WORKLOAD_DIR"];
  if (directory === undefined) return true;
  try {
    return (await readFile(join(directory, `${context.unitName.replace("/", "-")}.health`), "utf8")).trim() !== "unhealthy";
  } catch {
    return true;
  }
}

/**
 * Installs the snap revision its charm revision pins (file `snap_revision`) and refreshes to
 * it after `juju refresh`, through snapd's socket, but never while its workload is unhealthy.
 * A failed snap change fails the hook (Juju retries it). The workload version is the snap's.
 */
export const machinesTestCharm: CharmHandler = async ({ context, tools }) => {
  if (tearingDown(context)) return;
  const socket = context.environment["SNAPD_SOCKET"] ?? "/run/snapd.socket";
  const pinned = (await readFile(join(context.charmDir, "snap_revision"), "utf8")).trim();
  let installed = await installedSnap(socket);
  if (installed === undefined) {
    await runSnapChange(socket, { action: "install", revision: pinned });
  } else if (installed.revision !== pinned) {
    if (!(await workloadHealthy(context))) {
      await tools.statusSet({ status: "blocked", message: `workload unhealthy: staying on snap revision ${installed.revision}` });
      return;
    }
    await runSnapChange(socket, { action: "refresh", revision: pinned });
  }
  installed = await installedSnap(socket);
  await tools.applicationVersionSet(installed?.version ?? "");
  await tools.statusSet({ status: "active", message: `snap revision ${installed?.revision ?? "none"}` });
};

// ---- process mode ------------------------------------------------------------------------

/** The entry point a test charm's `dispatch` calls. */
export async function runTestCharm(kind: "kubernetes" | "machines"): Promise<void> {
  // Every workload version set reaches the simulator, as in-process handlers' do, so that both
  // run modes make the same calls and a seed gives the same interleaving in either.
  await runCharm(kind === "kubernetes" ? kubernetesTestCharm : machinesTestCharm, { rememberWorkloadVersion: false });
}

/**
 * Writes a charm directory whose `dispatch` runs one of the test charms through
 * `@refresh/juju`'s `runCharm` (real hook tools on `PATH`), plus its metadata and any extra
 * files. Node loads the workspace's TypeScript sources directly.
 */
export async function writeTestCharmDir(directory: string, kind: "kubernetes" | "machines", files: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(directory, { recursive: true });
  const dispatch = [
    "#!/usr/bin/env node",
    '"use strict";',
    'const { registerHooks } = require("node:module");',
    "registerHooks({",
    "  resolve(specifier, context, next) {",
    '    const withSource = { ...context, conditions: [...(context.conditions ?? []), "@refresh/source"] };',
    "    try {",
    "      return next(specifier, withSource);",
    "    } catch (error) {",
    '      if (specifier.startsWith(".") && specifier.endsWith(".js")) return next(specifier.slice(0, -3) + ".ts", withSource);',
    "      throw error;",
    "    }",
    "  },",
    "});",
    `import(${JSON.stringify(import.meta.url)}).then((charm) => charm.runTestCharm(${JSON.stringify(kind)}));`,
    "",
  ].join("\n");
  await writeFile(join(directory, "dispatch"), dispatch);
  await chmod(join(directory, "dispatch"), 0o755);
  for (const [path, content] of Object.entries(files)) await writeFile(join(directory, path), content);
}

/** Metadata of the test charms: the peer relation, and the `partition` option of the Kubernetes one. */
export function testCharmFiles(kind: "kubernetes" | "machines", extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const name = kind === "kubernetes" ? "kdb" : "mdb";
  return {
    "metadata.yaml": `name: ${name}\npeers:\n  refresh-v-three:\n    interface: refresh\n${kind === "kubernetes" ? "containers:\n  workload:\n    resource: image\n" : ""}`,
    "config.yaml": kind === "kubernetes" ? "options:\n  partition:\n    type: int\n    default: 0\n" : "options: {}\n",
    ...extra,
  };
}
