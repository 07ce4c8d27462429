import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { FakeClusterError } from "./cluster.js";
import type { FakeKubernetesCluster, FakeStatefulSet } from "./cluster.js";
import { controllerRevisionJson, listJson, podJson, podLabels, revisionLabels, statefulSetJson, statefulSetLabels, statusJson } from "./objects.js";
import type { KubernetesObject, StatusDetails } from "./objects.js";
import { applyJsonPatch, applyMergePatch, changedPaths, PatchRejected, strategicDirectives } from "./patch.js";
import { generateTestCertificates } from "./tls.js";
import { TestingError } from "../errors.js";
import { readBody, sendJson } from "../json-http.js";
import type { TestCertificates } from "./tls.js";

/** The stable codes a {@link FakeApiServerError} carries. */
export type FakeApiServerErrorCode = "FAKE_API_SERVER_INVALID_FAULT" | "FAKE_API_SERVER_UNKNOWN_TOKEN";

/**
 * Thrown when a test asks the {@link FakeKubernetesApiServer} itself for something impossible
 * (as opposed to a request it answers with an HTTP error).
 */
export class FakeApiServerError extends TestingError {
  declare readonly code: FakeApiServerErrorCode;

  constructor(code: FakeApiServerErrorCode, message: string) {
    super(code, message);
  }
}

/** Which requests a fault applies to: all, or those whose method and path match. */
export interface RequestMatcher {
  /** HTTP method, e.g. `PATCH` (any when omitted). */
  readonly method?: string;
  /** A string the URL path must contain, or a regular expression it must match (any when omitted). */
  readonly path?: string | RegExp;
}

/** One request the fake API server received. */
export interface ApiRequestRecord {
  /** 1 for the first request, then 2, 3, … */
  readonly sequence: number;
  readonly method: string;
  readonly path: string;
  /** The query string including `?`, or empty. */
  readonly query: string;
  /** Application whose token authenticated the request; undefined when the token was missing or wrong. */
  readonly app: string | undefined;
  /** Status code sent; 0 for a request that was left hanging. */
  readonly status: number;
  /** The injected fault that shaped the answer, if any. */
  readonly fault: "failed" | "delayed" | "hung" | undefined;
  readonly durationMs: number;
}

/** Request seen by a request gate. */
export interface GatedRequest {
  readonly method: string;
  readonly path: string;
  readonly app: string | undefined;
  /** The bearer token that authenticated it, so a gate can tell which unit's pod sent it. */
  readonly token?: string | undefined;
}

/** Options of {@link FakeKubernetesApiServer.start}. */
export interface FakeKubernetesApiServerOptions {
  /** The state it serves. */
  readonly cluster: FakeKubernetesCluster;
  /**
   * Whether an application without `juju trust` may still read StatefulSets, pods and
   * revisions (default true). Real Juju RBAC here is unverified, so tests can try both.
   */
  readonly untrustedCanRead?: boolean;
  /** Certificates to serve with (default: a fresh CA made with `openssl`). */
  readonly certificates?: TestCertificates;
}

/** A service-account directory written for one unit, and the environment that points at it. */
export interface ServiceAccount {
  /** Directory holding `token`, `ca.crt` and `namespace`. */
  readonly directory: string;
  readonly token: string;
  /** `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT` and `KUBERNETES_SERVICE_ACCOUNT_DIR`. */
  readonly env: {
    readonly KUBERNETES_SERVICE_HOST: string;
    readonly KUBERNETES_SERVICE_PORT: string;
    readonly KUBERNETES_SERVICE_ACCOUNT_DIR: string;
  };
}

interface FailureFault {
  readonly matcher: RequestMatcher;
  remaining: number;
  readonly status: number;
}

interface DelayFault {
  readonly matcher: RequestMatcher;
  readonly milliseconds: number;
}

/** Fault injection switches of a {@link FakeKubernetesApiServer}. */
export class ApiFaults {
  /** @internal */ failures: FailureFault[] = [];
  /** @internal */ delays: DelayFault[] = [];
  /** @internal */ hangs: RequestMatcher[] = [];

  /**
   * The next `count` matching requests fail with `status` (default 500; 503, 504 work too)
   * before any other processing, like an overloaded or restarting API server.
   */
  failNext(count: number, options: RequestMatcher & { readonly status?: number } = {}): void {
    const status = options.status ?? 500;
    if (status < 500 || status > 599) {
      throw new FakeApiServerError(
        "FAKE_API_SERVER_INVALID_FAULT",
        `failNext injects server errors, so status must be 5xx, got ${status}; pass a status from 500 to 599, such as 503 or 504`,
      );
    }
    this.failures.push({ matcher: matcherOf(options), remaining: count, status });
  }

  /** Delays every matching request by `milliseconds` before answering it. */
  delay(milliseconds: number, matcher: RequestMatcher = {}): void {
    this.delays.push({ matcher: matcherOf(matcher), milliseconds });
  }

  /** Never answers matching requests (the client's timeout must fire); they are dropped on close. */
  hang(matcher: RequestMatcher = {}): void {
    this.hangs.push(matcherOf(matcher));
  }

  /** Removes every fault. */
  clear(): void {
    this.failures = [];
    this.delays = [];
    this.hangs = [];
  }
}

function matcherOf(matcher: RequestMatcher): RequestMatcher {
  return { ...(matcher.method === undefined ? {} : { method: matcher.method }), ...(matcher.path === undefined ? {} : { path: matcher.path }) };
}

function matches(matcher: RequestMatcher, method: string, path: string): boolean {
  if (matcher.method !== undefined && matcher.method.toUpperCase() !== method) return false;
  if (matcher.path === undefined) return true;
  return typeof matcher.path === "string" ? path.includes(matcher.path) : matcher.path.test(path);
}

/** An error answer: a Kubernetes `Status` object with its HTTP code. */
class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }
}

const reviewBody = z.object({
  apiVersion: z.literal("authorization.k8s.io/v1"),
  kind: z.literal("SelfSubjectAccessReview"),
  spec: z
    .object({
      resourceAttributes: z
        .object({
          namespace: z.string().optional(),
          verb: z.string().optional(),
          group: z.string().optional(),
          version: z.string().optional(),
          resource: z.string().optional(),
          subresource: z.string().optional(),
          name: z.string().optional(),
        })
        .optional(),
      nonResourceAttributes: z.object({ path: z.string().optional(), verb: z.string().optional() }).optional(),
    })
    .optional(),
});

const READ_VERBS = new Set(["get", "list", "watch"]);
const PARTITION_PATH = "/spec/updateStrategy/rollingUpdate/partition";

/**
 * A Kubernetes API server for the fake cluster: real HTTPS on 127.0.0.1 (random port) with
 * its own throwaway CA, bearer-token authentication, Kubernetes-shaped JSON and `Status`
 * errors, for the calls the refresh library makes (StatefulSet get/patch, pod and
 * ControllerRevision reads, SelfSubjectAccessReview). Trust comes from the cluster
 * ({@link FakeStatefulSet.setTrusted}). Faults, a request log and a request gate let tests and
 * the simulator shape what clients see. Start with {@link start}; always {@link close}.
 */
export class FakeKubernetesApiServer {
  /** The cluster it serves. */
  readonly cluster: FakeKubernetesCluster;
  /** Fault injection switches. */
  readonly faults = new ApiFaults();
  /** PEM of the CA that signed the server certificate (what goes in `ca.crt`). */
  readonly caCertificate: string;
  private readonly server: Server;
  private untrustedCanRead: boolean;
  private readonly tokens = new Map<string, string>();
  private readonly log: ApiRequestRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly hungResponses = new Set<ServerResponse>();
  private readonly directories: string[] = [];
  private gate: ((request: GatedRequest) => Promise<void>) | undefined;
  private sequence = 0;
  private connections = 0;
  private closed = false;
  private listeningPort = 0;

  private constructor(options: FakeKubernetesApiServerOptions, certificates: TestCertificates, server: Server) {
    this.cluster = options.cluster;
    this.untrustedCanRead = options.untrustedCanRead ?? true;
    this.caCertificate = certificates.caCertificate;
    this.server = server;
    server.on("secureConnection", () => {
      this.connections += 1;
    });
  }

  /**
   * TLS connections accepted so far (each a full handshake). Compare it before and after a
   * hook to see whether the charm's requests shared one connection.
   */
  get connectionCount(): number {
    return this.connections;
  }

  /** Makes certificates (unless given), starts listening on 127.0.0.1 and resolves once ready. */
  static async start(options: FakeKubernetesApiServerOptions): Promise<FakeKubernetesApiServer> {
    const certificates = options.certificates ?? (await generateTestCertificates());
    const server = createServer({ cert: certificates.serverCertificate, key: certificates.serverKey });
    const api = new FakeKubernetesApiServer(options, certificates, server);
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      void api.handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    api.listeningPort = (server.address() as AddressInfo).port;
    return api;
  }

  /** Always `127.0.0.1`. */
  get host(): string {
    return "127.0.0.1";
  }

  /** The port it listens on (still known after {@link close}). */
  get port(): number {
    return this.listeningPort;
  }

  /** `https://127.0.0.1:<port>`. */
  get url(): string {
    return `https://${this.host}:${this.port}`;
  }

  /**
   * Issues a bearer token for the service account of `app` (what the pod of any of its units
   * gets). Requests with it act as that application, trusted or not per the cluster.
   */
  issueToken(app: string): string {
    const token = `fake-sa-token.${app}.${randomBytes(18).toString("base64url")}`;
    this.tokens.set(token, app);
    return token;
  }

  /** Revokes a token: later requests with it get 401, like an expired projected token. */
  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  /**
   * Rotates the token of a service-account directory, as the kubelet does with projected
   * tokens: a new token is written to its `token` file; the old one keeps working unless
   * `revokeOld` is set (then clients that cached it get 401).
   */
  async rotateToken(account: ServiceAccount, options: { readonly revokeOld?: boolean } = {}): Promise<ServiceAccount> {
    const app = this.tokens.get(account.token);
    if (app === undefined) {
      throw new FakeApiServerError(
        "FAKE_API_SERVER_UNKNOWN_TOKEN",
        `rotateToken: the token in ${account.directory} was not issued by this server or was revoked; pass a service account from this server's writeServiceAccount or rotateToken`,
      );
    }
    const token = this.issueToken(app);
    await writeFile(join(account.directory, "token"), token, { mode: 0o600 });
    if (options.revokeOld === true) this.revokeToken(account.token);
    return { ...account, token };
  }

  /** Changes whether applications without `juju trust` may read (see the start option). */
  setUntrustedCanRead(allowed: boolean): void {
    this.untrustedCanRead = allowed;
  }

  /**
   * Writes a service-account directory (`token`, `ca.crt`, `namespace`) for a unit of `app`
   * into a fresh temporary directory (removed by {@link close}) and returns the environment a
   * charm process needs to reach this server as that application.
   */
  async writeServiceAccount(app: string): Promise<ServiceAccount> {
    const directory = await mkdtemp(join(tmpdir(), `fake-k8s-sa-${app}-`));
    this.directories.push(directory);
    await mkdir(directory, { recursive: true });
    const token = this.issueToken(app);
    await Promise.all([
      writeFile(join(directory, "token"), token, { mode: 0o600 }),
      writeFile(join(directory, "ca.crt"), this.caCertificate),
      writeFile(join(directory, "namespace"), this.cluster.namespace),
    ]);
    return {
      directory,
      token,
      env: {
        KUBERNETES_SERVICE_HOST: this.host,
        KUBERNETES_SERVICE_PORT: String(this.port),
        KUBERNETES_SERVICE_ACCOUNT_DIR: directory,
      },
    };
  }

  /**
   * Runs `gate` before each authenticated request is processed (after faults), so the simulator
   * can order requests from concurrent hooks deterministically. Pass undefined to remove it.
   */
  setRequestGate(gate: ((request: GatedRequest) => Promise<void>) | undefined): void {
    this.gate = gate;
  }

  /** Every request so far, oldest first. */
  get requests(): readonly ApiRequestRecord[] {
    return this.log;
  }

  /** How many requests so far match (all when no matcher is given). */
  requestCount(matcher: RequestMatcher = {}): number {
    return this.log.filter((record) => matches(matcher, record.method, record.path)).length;
  }

  /** Forgets the request log (e.g. between the setup and the measured part of a benchmark). */
  clearRequestLog(): void {
    this.log.length = 0;
  }

  /** Stops listening, drops open connections and hanging requests, removes service-account dirs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const response of this.hungResponses) response.destroy();
    this.hungResponses.clear();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closing;
    await Promise.all(this.directories.map((directory) => rm(directory, { recursive: true, force: true })));
  }

  // ---- request handling ---------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = (request.method ?? "GET").toUpperCase();
    const url = new URL(request.url ?? "/", "https://127.0.0.1");
    const path = url.pathname;
    this.sequence += 1;
    const sequence = this.sequence;
    const app = this.authenticate(request);
    let fault: ApiRequestRecord["fault"];
    const record = (status: number): void => {
      this.log.push({ sequence, method, path, query: url.search, app, status, fault, durationMs: performance.now() - started });
    };
    try {
      const body = await readBody(request);
      const failure = this.faults.failures.find((candidate) => candidate.remaining > 0 && matches(candidate.matcher, method, path));
      if (failure !== undefined) {
        failure.remaining -= 1;
        fault = "failed";
        throw new ApiError(failure.status, failure.status === 503 ? "ServiceUnavailable" : "InternalError", "injected fault: the fake API server failed this request on purpose");
      }
      if (this.faults.hangs.some((matcher) => matches(matcher, method, path))) {
        fault = "hung";
        this.hungResponses.add(response);
        response.on("close", () => this.hungResponses.delete(response));
        record(0);
        return;
      }
      const delay = this.faults.delays.find((candidate) => matches(candidate.matcher, method, path));
      if (delay !== undefined) {
        fault = "delayed";
        await this.sleep(delay.milliseconds);
        if (this.closed) return;
      }
      if (app === undefined) throw new ApiError(401, "Unauthorized", "Unauthorized");
      if (this.gate !== undefined) await this.gate({ method, path, app, token: bearerToken(request) });
      const { status, payload } = this.route(method, url, body, request.headers["content-type"] ?? "", app);
      sendJson(response, status, payload);
      record(status);
    } catch (error) {
      const failure =
        error instanceof ApiError
          ? error
          : error instanceof FakeClusterError
            ? new ApiError(422, "Invalid", error.message)
            : new ApiError(500, "InternalError", `fake API server bug: ${String(error)}`);
      sendJson(response, failure.code, statusJson(failure.code, failure.reason, failure.message, failure.details));
      record(failure.code);
    }
  }

  private authenticate(request: IncomingMessage): string | undefined {
    const token = bearerToken(request);
    return token === undefined ? undefined : this.tokens.get(token);
  }

  private sleep(milliseconds: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, milliseconds);
      this.timers.add(timer);
    });
  }

  private isTrusted(app: string): boolean {
    return this.cluster.findStatefulSet(app)?.trusted ?? false;
  }

  private requireRead(app: string, resource: string, group: string, namespace: string, verb: "get" | "list", name?: string): void {
    if (this.untrustedCanRead || this.isTrusted(app)) return;
    throw forbidden(app, this.cluster.namespace, verb, resource, group, namespace, name);
  }

  private route(method: string, url: URL, body: string, contentType: string, app: string): { status: number; payload: KubernetesObject } {
    const path = url.pathname.replace(/\/+$/, "");
    let match: RegExpExecArray | null;
    if ((match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/statefulsets\/([^/]+)$/.exec(path)) !== null) {
      const [namespace, name] = [decodeURIComponent(match[1] ?? ""), decodeURIComponent(match[2] ?? "")];
      if (method === "GET") {
        this.requireRead(app, "statefulsets", "apps", namespace, "get", name);
        return { status: 200, payload: statefulSetJson(this.findStatefulSet(namespace, name), this.cluster.namespace) };
      }
      if (method === "PATCH") {
        if (!this.isTrusted(app)) throw forbidden(app, this.cluster.namespace, "patch", "statefulsets", "apps", namespace, name);
        const statefulSet = this.findStatefulSet(namespace, name);
        this.patchStatefulSet(statefulSet, body, contentType);
        return { status: 200, payload: statefulSetJson(statefulSet, this.cluster.namespace) };
      }
      throw methodNotAllowed(method);
    }
    if ((match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/statefulsets$/.exec(path)) !== null) {
      if (method !== "GET") throw methodNotAllowed(method);
      const namespace = decodeURIComponent(match[1] ?? "");
      this.requireRead(app, "statefulsets", "apps", namespace, "list");
      const selector = parseSelector(url.searchParams.get("labelSelector"));
      const items = this.statefulSetsIn(namespace)
        .filter((statefulSet) => selects(selector, statefulSetLabels(statefulSet.app)))
        .map((statefulSet) => statefulSetJson(statefulSet, namespace));
      return { status: 200, payload: listJson("StatefulSet", "apps/v1", this.listVersion(), items) };
    }
    if ((match = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path)) !== null) {
      if (method !== "GET") throw methodNotAllowed(method);
      const namespace = decodeURIComponent(match[1] ?? "");
      this.requireRead(app, "pods", "", namespace, "list");
      const selector = parseSelector(url.searchParams.get("labelSelector"));
      const items = this.statefulSetsIn(namespace).flatMap((statefulSet) =>
        statefulSet
          .pods()
          .filter((pod) => selects(selector, podLabels(pod)))
          .map((pod) => podJson(pod, statefulSet, namespace)),
      );
      return { status: 200, payload: listJson("Pod", "v1", this.listVersion(), items) };
    }
    if ((match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path)) !== null) {
      if (method !== "GET") throw methodNotAllowed(method);
      const [namespace, name] = [decodeURIComponent(match[1] ?? ""), decodeURIComponent(match[2] ?? "")];
      this.requireRead(app, "pods", "", namespace, "get", name);
      for (const statefulSet of this.statefulSetsIn(namespace)) {
        const pod = statefulSet.pods().find((candidate) => candidate.name === name);
        if (pod !== undefined) return { status: 200, payload: podJson(pod, statefulSet, namespace) };
      }
      throw notFound("pods", "", name);
    }
    if ((match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/controllerrevisions$/.exec(path)) !== null) {
      if (method !== "GET") throw methodNotAllowed(method);
      const namespace = decodeURIComponent(match[1] ?? "");
      this.requireRead(app, "controllerrevisions", "apps", namespace, "list");
      const selector = parseSelector(url.searchParams.get("labelSelector"));
      const items = this.statefulSetsIn(namespace).flatMap((statefulSet) =>
        statefulSet
          .revisions()
          .filter((revision) => selects(selector, revisionLabels(revision)))
          .map((revision) => controllerRevisionJson(revision, statefulSet, namespace)),
      );
      return { status: 200, payload: listJson("ControllerRevision", "apps/v1", this.listVersion(), items) };
    }
    if ((match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/controllerrevisions\/([^/]+)$/.exec(path)) !== null) {
      if (method !== "GET") throw methodNotAllowed(method);
      const [namespace, name] = [decodeURIComponent(match[1] ?? ""), decodeURIComponent(match[2] ?? "")];
      this.requireRead(app, "controllerrevisions", "apps", namespace, "get", name);
      for (const statefulSet of this.statefulSetsIn(namespace)) {
        const revision = statefulSet.revisions().find((candidate) => candidate.name === name);
        if (revision !== undefined) return { status: 200, payload: controllerRevisionJson(revision, statefulSet, namespace) };
      }
      throw notFound("controllerrevisions", "apps", name);
    }
    if (path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
      if (method !== "POST") throw methodNotAllowed(method);
      return { status: 201, payload: this.review(body, app) };
    }
    throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  }

  private statefulSetsIn(namespace: string): FakeStatefulSet[] {
    if (namespace !== this.cluster.namespace) return [];
    return this.cluster.applications().map((app) => this.cluster.statefulSet(app));
  }

  private findStatefulSet(namespace: string, name: string): FakeStatefulSet {
    const statefulSet = namespace === this.cluster.namespace ? this.cluster.findStatefulSet(name) : undefined;
    if (statefulSet === undefined) throw notFound("statefulsets", "apps", name);
    return statefulSet;
  }

  private listVersion(): string {
    let highest = 0;
    for (const app of this.cluster.applications()) highest = Math.max(highest, Number(this.cluster.statefulSet(app).resourceVersion));
    return String(highest);
  }

  private patchStatefulSet(statefulSet: FakeStatefulSet, body: string, contentType: string): void {
    const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
    const kinds: Record<string, "merge" | "json"> = {
      "application/merge-patch+json": "merge",
      "application/strategic-merge-patch+json": "merge",
      "application/json-patch+json": "json",
    };
    const kind = kinds[mediaType];
    if (kind === undefined) {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got "${contentType}")`,
      );
    }
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch {
      throw new ApiError(400, "BadRequest", "the patch body is not valid JSON");
    }
    const before = statefulSetJson(statefulSet, this.cluster.namespace);
    let after: unknown;
    try {
      if (kind === "merge") {
        if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
          throw new PatchRejected("PATCH_NOT_AN_OBJECT", 400, "BadRequest", "a merge patch must be a JSON object");
        }
        const directives = strategicDirectives(patch);
        if (directives.length > 0) {
          throw new PatchRejected(
            "PATCH_UNSUPPORTED_DIRECTIVE",
            422,
            "Invalid",
            `the fake API server does not support strategic-merge directives (${directives.join(", ")}); send the patch without "$" keys`,
          );
        }
        after = applyMergePatch(before, patch);
      } else {
        after = applyJsonPatch(before, patch);
      }
    } catch (error) {
      if (error instanceof PatchRejected) throw new ApiError(error.status, error.reason, error.message);
      throw error;
    }
    const patched = after as { metadata?: { resourceVersion?: unknown }; spec?: { updateStrategy?: { rollingUpdate?: { partition?: unknown } } } };
    // A resourceVersion in the patch is a precondition (optimistic concurrency).
    const requestedVersion = patched.metadata?.resourceVersion;
    if (requestedVersion !== undefined && requestedVersion !== statefulSet.resourceVersion) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on statefulsets.apps "${statefulSet.app}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: statefulSet.app, group: "apps", kind: "statefulsets" },
      );
    }
    const others = changedPaths(before, after).filter(
      (changed) => changed !== PARTITION_PATH && changed !== "/metadata/resourceVersion" && !changed.startsWith("/status"),
    );
    if (others.length > 0) {
      throw new ApiError(
        422,
        "Invalid",
        `StatefulSet.apps "${statefulSet.app}" is invalid: the fake API server only lets clients change ${PARTITION_PATH.slice(1).replaceAll("/", ".")}; this patch also changes ${others.join(", ")}`,
        { name: statefulSet.app, group: "apps", kind: "StatefulSet" },
      );
    }
    // Removing the field makes the API server default it to 0 again.
    const partition = patched.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    if (typeof partition !== "number") {
      throw new ApiError(400, "BadRequest", `spec.updateStrategy.rollingUpdate.partition must be an integer, got ${JSON.stringify(partition)}`);
    }
    if (!Number.isSafeInteger(partition) || partition < 0 || partition > 2 ** 31 - 1) {
      throw new ApiError(
        422,
        "Invalid",
        `StatefulSet.apps "${statefulSet.app}" is invalid: spec.updateStrategy.rollingUpdate.partition: Invalid value: ${partition}: must be a whole number between 0 and 2147483647`,
        { name: statefulSet.app, group: "apps", kind: "StatefulSet" },
      );
    }
    statefulSet.setPartition(partition);
  }

  private review(body: string, app: string): KubernetesObject {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new ApiError(400, "BadRequest", "the SelfSubjectAccessReview body is not valid JSON");
    }
    const parsed = reviewBody.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ApiError(400, "BadRequest", `invalid SelfSubjectAccessReview: ${issue?.path.join(".") ?? ""} ${issue?.message ?? ""}`.trim());
    }
    const spec = parsed.data.spec ?? {};
    if ((spec.resourceAttributes === undefined) === (spec.nonResourceAttributes === undefined)) {
      throw new ApiError(422, "Invalid", "SelfSubjectAccessReview is invalid: spec: exactly one of nonResourceAttributes or resourceAttributes must be set", {
        group: "authorization.k8s.io",
        kind: "SelfSubjectAccessReview",
      });
    }
    const verb = (spec.resourceAttributes?.verb ?? spec.nonResourceAttributes?.verb ?? "").toLowerCase();
    const trusted = this.isTrusted(app);
    const allowed = trusted || (READ_VERBS.has(verb) && this.untrustedCanRead);
    const reason = trusted ? `the service account of "${app}" is trusted (juju trust)` : allowed ? "reads are allowed for untrusted applications" : "";
    return {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec,
      status: { allowed, ...(reason === "" ? {} : { reason }) },
    };
  }
}

function forbidden(app: string, serviceAccountNamespace: string, verb: string, resource: string, group: string, namespace: string, name?: string): ApiError {
  const qualified = group === "" ? resource : `${resource}.${group}`;
  const subject = name === undefined ? qualified : `${qualified} "${name}"`;
  return new ApiError(
    403,
    "Forbidden",
    `${subject} is forbidden: User "system:serviceaccount:${serviceAccountNamespace}:${app}" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`,
    { ...(name === undefined ? {} : { name }), group, kind: resource },
  );
}

function notFound(resource: string, group: string, name: string): ApiError {
  const qualified = group === "" ? resource : `${resource}.${group}`;
  return new ApiError(404, "NotFound", `${qualified} "${name}" not found`, { name, group, kind: resource });
}

function methodNotAllowed(method: string): ApiError {
  return new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${method})`);
}

type Requirement = { key: string; op: "=" | "!=" | "exists" | "!exists"; value: string };

/** Parses equality-based label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma = AND). */
function parseSelector(selector: string | null): Requirement[] {
  if (selector === null || selector.trim() === "") return [];
  return selector.split(",").map((part) => {
    const text = part.trim();
    let match: RegExpExecArray | null;
    if ((match = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(text)) !== null) return { key: match[1] ?? "", op: "!=", value: match[2] ?? "" };
    if ((match = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(text)) !== null) return { key: match[1] ?? "", op: "=", value: match[2] ?? "" };
    if ((match = /^!([^=!\s]+)$/.exec(text)) !== null) return { key: match[1] ?? "", op: "!exists", value: "" };
    if (/^[^=!\s()]+$/.test(text)) return { key: text, op: "exists", value: "" };
    throw new ApiError(400, "BadRequest", `unable to parse requirement "${text}": the fake API server supports only =, ==, != and existence selectors`);
  });
}

function selects(requirements: Requirement[], labels: Record<string, string>): boolean {
  return requirements.every((requirement) => {
    const value = labels[requirement.key];
    switch (requirement.op) {
      case "=":
        return value === requirement.value;
      case "!=":
        return value !== requirement.value;
      case "exists":
        return value !== undefined;
      case "!exists":
        return value === undefined;
    }
    return false;
  });
}

function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? "");
  return match?.[1];
}
