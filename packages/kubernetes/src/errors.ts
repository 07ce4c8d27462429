import { RefreshError } from "@refresh/core";

/**
 * The application's service account may not patch its own StatefulSet, so the library cannot
 * steer the rolling refresh. The leader has already set a Blocked app status saying so.
 *
 * Catch it and exit the hook (or let it propagate so Juju retries the hook). It keeps being
 * thrown, in every event on every unit, until the user runs `juju trust <app> --scope=cluster`.
 */
export class KubernetesJujuAppNotTrusted extends RefreshError {
  /** The Juju application that needs `juju trust`. */
  readonly appName: string;

  constructor(appName: string) {
    super(
      "KUBERNETES_JUJU_APP_NOT_TRUSTED",
      `application ${appName} is not allowed to patch its StatefulSet, which in-place refreshes need; run \`juju trust ${appName} --scope=cluster\``,
      { resolution: `juju trust ${appName} --scope=cluster` },
    );
    this.appName = appName;
  }
}

/** Why a call to the Kubernetes API server failed; see {@link KubernetesApiError}. */
export type KubernetesApiErrorCode =
  | "KUBERNETES_CONFIG_MISSING"
  | "KUBERNETES_UNREACHABLE"
  | "KUBERNETES_TIMEOUT"
  | "KUBERNETES_UNAUTHORIZED"
  | "KUBERNETES_FORBIDDEN"
  | "KUBERNETES_NOT_FOUND"
  | "KUBERNETES_CONFLICT"
  | "KUBERNETES_SERVER_ERROR"
  | "KUBERNETES_UNEXPECTED_RESPONSE";

/**
 * A call to the Kubernetes API server failed. The hook should fail (let it propagate): Juju
 * retries it, and every decision is recomputed from the cluster's state in the next event,
 * so nothing is lost. `code` tells the kinds apart; `status` is the HTTP status when there
 * was a response.
 */
export class KubernetesApiError extends RefreshError {
  declare readonly code: KubernetesApiErrorCode;
  /** HTTP status code of the response, when the server answered. */
  readonly status: number | undefined;

  constructor(
    code: KubernetesApiErrorCode,
    message: string,
    options: { status?: number | undefined; cause?: unknown; resolution?: string | undefined } = {},
  ) {
    super(code, message, options);
    this.status = options.status;
  }
}

/**
 * The packed charm does not meet the library's contract (metadata.yaml, refresh_versions.toml,
 * config.yaml). This is a charm author's mistake: fix the charm and publish it again.
 */
export class CharmPackagingError extends RefreshError {
  constructor(message: string) {
    super("CHARM_PACKAGING_INVALID", message, {
      resolution: "fix the charm's metadata.yaml, config.yaml or refresh_versions.toml and pack the charm again",
    });
  }
}
