import type { KubernetesApi } from "./api.js";

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
 * Connects to the in-cluster API server as the pod's service account. The client modules
 * are loaded here, on first use, so code paths that never talk to Kubernetes do not pay for
 * them.
 */
export async function connectInCluster(options: ConnectInClusterOptions): Promise<KubernetesApi> {
  const [{ loadInClusterConfig }, { createHttpsKubernetesApi }] = await Promise.all([
    import("./in-cluster.js"),
    import("./https-client.js"),
  ]);
  const config = await loadInClusterConfig(options.environment);
  return createHttpsKubernetesApi({
    config,
    appName: options.appName,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
