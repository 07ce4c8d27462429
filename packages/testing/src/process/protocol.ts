/**
 * The wire format between the hook-tool client on `PATH` and {@link HookToolServer}.
 *
 * Binary and length-prefixed rather than JSON so the C client needs no JSON encoder and
 * arguments travel as the exact bytes the charm passed (quotes, newlines, non-UTF-8).
 *
 * Request:  "RHT1" u32:payloadLength | str contextId | str tool | str cwd | u32 argc |
 *           argc × str | u32 stdinSet | str stdin
 * Response: "RHT1" u32:exitCode | str stdout | str stderr
 * where `str` is a u32 byte length followed by that many bytes; integers are big-endian.
 */

import { TestingError } from "../errors.js";

/** Environment variable through which hook tools find the simulator's socket. */
export const HOOK_TOOL_SOCKET_ENV = "REFRESH_SIM_HOOK_TOOL_SOCKET";

/** First four bytes of every frame in both directions. */
export const FRAME_MAGIC = "RHT1";

/**
 * Largest request the server accepts. Juju itself caps a command line far below this; the
 * limit only stops a runaway client from exhausting the simulator's memory.
 */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/** One hook-tool invocation as the client sent it. */
export interface HookToolRequest {
  readonly contextId: string;
  /** Basename of the client's argv[0]: the tool's name. */
  readonly tool: string;
  /** Working directory of the calling process (relative `--file` paths resolve against it). */
  readonly cwd: string;
  readonly args: readonly string[];
  /** Bytes read from the client's stdin, or undefined when the call did not read stdin. */
  readonly stdin: Buffer | undefined;
}

/** What the client replays: exit code, stdout and stderr. */
export interface HookToolResponse {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The stable codes a {@link MalformedFrameError} carries. */
export type MalformedFrameErrorCode = "HOOK_TOOL_FRAME_BAD_MARKER" | "HOOK_TOOL_FRAME_TOO_LARGE" | "HOOK_TOOL_FRAME_TRUNCATED" | "HOOK_TOOL_FRAME_TRAILING_BYTES";

/**
 * A frame that does not follow the protocol (wrong marker, truncated, oversized). The server
 * prints the message after `ERROR ` on the client's stderr.
 */
export class MalformedFrameError extends TestingError {
  declare readonly code: MalformedFrameErrorCode;

  constructor(code: MalformedFrameErrorCode, detail: string) {
    super(code, `malformed hook-tool request: ${detail}`);
  }
}

/**
 * How many bytes the complete request occupies, once at least its 8-byte header has
 * arrived; undefined while the header is still incomplete.
 */
export function requestFrameLength(received: Buffer): number | undefined {
  if (received.length < 8) return undefined;
  if (received.subarray(0, 4).toString("latin1") !== FRAME_MAGIC) {
    throw new MalformedFrameError(
      "HOOK_TOOL_FRAME_BAD_MARKER",
      "it does not start with the protocol marker; run the hook tools through the client installed by this version of @refresh/testing",
    );
  }
  const payload = received.readUInt32BE(4);
  if (payload > MAX_REQUEST_BYTES) {
    throw new MalformedFrameError(
      "HOOK_TOOL_FRAME_TOO_LARGE",
      `it announces ${payload} bytes, more than the ${MAX_REQUEST_BYTES} accepted; pass large values through a file (e.g. relation-set --file) instead`,
    );
  }
  return 8 + payload;
}

const TRUNCATED_FIX = "the client does not match this server: reinstall the hook-tool bin directory with this version of @refresh/testing";

/** Decodes one complete request frame (header included). */
export function decodeRequest(frame: Buffer): HookToolRequest {
  let offset = 8;
  const u32 = (): number => {
    if (offset + 4 > frame.length) throw new MalformedFrameError("HOOK_TOOL_FRAME_TRUNCATED", `it ends in the middle of a length; ${TRUNCATED_FIX}`);
    const value = frame.readUInt32BE(offset);
    offset += 4;
    return value;
  };
  const bytes = (): Buffer => {
    const length = u32();
    if (offset + length > frame.length) throw new MalformedFrameError("HOOK_TOOL_FRAME_TRUNCATED", `it ends in the middle of a field; ${TRUNCATED_FIX}`);
    const value = frame.subarray(offset, offset + length);
    offset += length;
    return value;
  };
  const contextId = bytes().toString("utf8");
  const tool = bytes().toString("utf8");
  const cwd = bytes().toString("utf8");
  const argc = u32();
  const args: string[] = [];
  for (let i = 0; i < argc; i++) args.push(bytes().toString("utf8"));
  const stdinSet = u32() !== 0;
  const stdin = Buffer.from(bytes());
  if (offset !== frame.length) throw new MalformedFrameError("HOOK_TOOL_FRAME_TRAILING_BYTES", `it has trailing bytes; ${TRUNCATED_FIX}`);
  return { contextId, tool, cwd, args, stdin: stdinSet ? stdin : undefined };
}

/** Encodes a request frame exactly as the clients do, for callers that talk to the server directly. */
export function encodeRequest(request: HookToolRequest): Buffer {
  const parts: Buffer[] = [];
  const u32 = (value: number): void => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    parts.push(b);
  };
  const str = (value: Buffer | string): void => {
    const b = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    u32(b.length);
    parts.push(b);
  };
  str(request.contextId);
  str(request.tool);
  str(request.cwd);
  u32(request.args.length);
  for (const arg of request.args) str(arg);
  u32(request.stdin === undefined ? 0 : 1);
  str(request.stdin ?? Buffer.alloc(0));
  const payload = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.write(FRAME_MAGIC, 0, "latin1");
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Encodes the server's answer. */
export function encodeResponse(response: HookToolResponse): Buffer {
  const stdout = Buffer.from(response.stdout, "utf8");
  const stderr = Buffer.from(response.stderr, "utf8");
  const frame = Buffer.alloc(4 + 4 + 4 + stdout.length + 4 + stderr.length);
  let offset = frame.write(FRAME_MAGIC, 0, "latin1");
  offset = frame.writeUInt32BE(Math.min(Math.max(Math.trunc(response.exitCode), 0), 255), offset);
  offset = frame.writeUInt32BE(stdout.length, offset);
  offset += stdout.copy(frame, offset);
  offset = frame.writeUInt32BE(stderr.length, offset);
  stderr.copy(frame, offset);
  return frame;
}
