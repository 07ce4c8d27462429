import type { KubernetesApi } from "./api.js";
import { createHttpsKubernetesApi } from "./https-client.js";
import { loadInClusterConfig } from "./in-cluster.js";

/** Options of {@link connectInCluster}. */
export interface ConnectInClusterOptions {
  /** The hook's environment (`HookContext.environment`); see `loadInClusterConfig` for the variables read. */
  readonly environment: Readonly<Record<string, string | undefined>>;
  /** Juju application name (the StatefulSet's name). */
  readonly appName: string;
  /**
   * Deadline for one request, in milliseconds.
   * @default 20000
   */
  readonly timeoutMs?: number;
}

/**
 * Connects to the in-cluster API server as the pod's service account.
 *
 * The client is imported statically: every event talks to the API server, esbuild hoists the
 * `node:https` import to the top of the bundle anyway, and a dynamic import would make esbuild
 * wrap everything the client reaches (all of `@refresh/core`) in lazy initialisers that then
 * evaluate the YAML parser on every start-up.
 */
export async function connectInCluster(options: ConnectInClusterOptions): Promise<KubernetesApi> {
  const config = await loadInClusterConfig(options.environment);
  return createHttpsKubernetesApi({
    config,
    appName: options.appName,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
