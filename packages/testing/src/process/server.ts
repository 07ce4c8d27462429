import { mkdtemp, rm } from "node:fs/promises";
import { type Server, type Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HookTools } from "@refresh/juju";
import { TestingError } from "../errors.js";
import { type HookToolScope, executeHookTool } from "./commands.js";
import { type HookToolBinDir, type HookToolClientChoice, installHookToolBinDir } from "./client.js";
import {
  HOOK_TOOL_SOCKET_ENV,
  type HookToolRequest,
  type HookToolResponse,
  MalformedFrameError,
  decodeRequest,
  encodeResponse,
  requestFrameLength,
} from "./protocol.js";

/** The stable codes a {@link HookToolServerError} carries. */
export type HookToolServerErrorCode = "HOOK_TOOL_CONTEXT_ALREADY_REGISTERED";

/** Thrown when a test or the simulator uses the {@link HookToolServer} in a way it cannot serve. */
export class HookToolServerError extends TestingError {
  declare readonly code: HookToolServerErrorCode;

  constructor(code: HookToolServerErrorCode, message: string) {
    super(code, message);
  }
}

/** One answered hook-tool call, as reported to {@link RegisterOptions.onCall}. */
export interface HookToolCall {
  readonly tool: string;
  readonly args: readonly string[];
  readonly exitCode: number;
  /** The error line written to stderr, when the call failed. */
  readonly stderr: string;
}

/** Options of {@link HookToolServer.register}. */
export interface RegisterOptions {
  /** How `-r` and relation-hook defaults are read; see {@link HookToolScope}. */
  readonly scope?: HookToolScope | undefined;
  /** Told about every answered call of this context (counting, tracing). */
  readonly onCall?: ((call: HookToolCall) => void) | undefined;
}

/** Options of {@link HookToolServer.start}. */
export interface HookToolServerOptions {
  /** Which client the bin directory links; see {@link HookToolClientChoice}. Default `auto`. */
  readonly client?: HookToolClientChoice | undefined;
  /** Where the compiled C client is cached between runs. Default: a per-user directory under the OS temp dir. */
  readonly cacheDir?: string | undefined;
  /** The C compiler to use. Default `cc`. */
  readonly compiler?: string | undefined;
}

interface Registration {
  readonly tools: HookTools;
  readonly scope: HookToolScope;
  readonly onCall: ((call: HookToolCall) => void) | undefined;
  /** Juju serializes a unit's tool calls; chaining keeps that order for one context. */
  queue: Promise<unknown>;
}

/**
 * The simulator's side of the hook tools, in the role of Juju's unit agent: a unix socket
 * the tools on `PATH` connect to, and a table of live hook contexts. Each running hook
 * registers its `HookTools` under its `JUJU_CONTEXT_ID`; a call naming any other id fails
 * as a call from a finished hook would on Juju.
 */
export class HookToolServer {
  private readonly contexts = new Map<string, Registration>();
  private readonly sockets = new Set<Socket>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly workDir: string,
    /** Path of the unix socket the tools connect to. */
    readonly socketPath: string,
    /** The directory to put first on a hook's `PATH`, and which client it links. */
    readonly binDir: HookToolBinDir,
  ) {}

  /**
   * Creates a private work directory, installs the hook-tool bin directory (compiling the C
   * client on first use, or falling back to the Node client; see `binDir.client`) and starts
   * listening.
   */
  static async start(options: HookToolServerOptions = {}): Promise<HookToolServer> {
    const workDir = await mkdtemp(join(tmpdir(), "refresh-hook-tools-"));
    try {
      const binDir = await installHookToolBinDir(join(workDir, "bin"), {
        client: options.client ?? "auto",
        cacheDir: options.cacheDir,
        compiler: options.compiler,
      });
      const socketPath = join(workDir, "agent.sock");
      const server = createServer();
      const instance = new HookToolServer(server, workDir, socketPath, binDir);
      server.on("connection", (socket) => instance.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(socketPath, () => {
          server.off("error", reject);
          resolve();
        });
      });
      return instance;
    } catch (error) {
      await rm(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The environment a hook process needs to reach this server (besides `JUJU_CONTEXT_ID`). */
  get environment(): Record<string, string> {
    return {
      [HOOK_TOOL_SOCKET_ENV]: this.socketPath,
      // Juju's own names, set for realism; the client reads only the variable above.
      JUJU_AGENT_SOCKET_ADDRESS: this.socketPath,
      JUJU_AGENT_SOCKET_NETWORK: "unix",
    };
  }

  /**
   * Makes `tools` answer calls that carry `contextId`, until the returned function is called.
   * Registering an id that is still registered throws a {@link HookToolServerError}.
   */
  register(contextId: string, tools: HookTools, options: RegisterOptions = {}): () => void {
    if (this.contexts.has(contextId)) {
      throw new HookToolServerError(
        "HOOK_TOOL_CONTEXT_ALREADY_REGISTERED",
        `hook context ${JSON.stringify(contextId)} is already registered; give every running hook its own id, or call the function register returned before reusing one`,
      );
    }
    const registration: Registration = { tools, scope: options.scope ?? {}, onCall: options.onCall, queue: Promise.resolve() };
    this.contexts.set(contextId, registration);
    return () => {
      if (this.contexts.get(contextId) === registration) this.contexts.delete(contextId);
    };
  }

  /**
   * Answers one request as if it had come over the socket (the socket handler calls this),
   * for callers that hold a request already.
   */
  async handle(request: HookToolRequest): Promise<HookToolResponse> {
    const registration = this.contexts.get(request.contextId);
    if (registration === undefined) {
      const detail =
        request.contextId === ""
          ? "JUJU_CONTEXT_ID is not set; hook tools only work inside a hook"
          : `unknown hook context ${JSON.stringify(request.contextId)}: the hook has ended or was never started`;
      return { exitCode: 1, stdout: "", stderr: `ERROR bad request: ${detail}\n` };
    }
    const run = registration.queue.then(() => executeHookTool(request, registration.tools, registration.scope));
    registration.queue = run.catch(() => undefined);
    const response = await run;
    registration.onCall?.({ tool: request.tool, args: request.args, exitCode: response.exitCode, stderr: response.stderr });
    return response;
  }

  /** Stops listening, drops every registration and deletes the work directory (socket and bin dir). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.contexts.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.workDir, { recursive: true, force: true });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let received = Buffer.alloc(0);
    let answered = false;
    const reply = (response: HookToolResponse): void => {
      if (!socket.destroyed) socket.end(encodeResponse(response));
    };
    socket.on("data", (chunk: Buffer) => {
      if (answered) return;
      received = Buffer.concat([received, chunk]);
      let length: number | undefined;
      try {
        length = requestFrameLength(received);
        if (length === undefined || received.length < length) return;
        answered = true;
        const request = decodeRequest(received.subarray(0, length));
        this.handle(request).then(reply, (error: unknown) => {
          reply({ exitCode: 1, stdout: "", stderr: `ERROR simulator failure while answering the hook tool: ${String(error)}\n` });
        });
      } catch (error) {
        answered = true;
        const message = error instanceof MalformedFrameError ? error.message : String(error);
        reply({ exitCode: 1, stdout: "", stderr: `ERROR ${message}\n` });
      }
    });
  }
}
