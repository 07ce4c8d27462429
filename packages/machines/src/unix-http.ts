import { createConnection } from "node:net";

// Node's `node:http` costs more to load than the rest of a machine charm together (about as much
// as a bare `node -e 0`), and every event pays it again. snapd needs one request per connection
// over a unix socket, so this small HTTP/1.1 client over `node:net` does the job instead.

/** An HTTP response read in full. */
export interface RawHttpResponse {
  readonly status: number;
  readonly body: Buffer;
}

/** The bytes on the socket are not an HTTP/1.x response this client can read. */
export class MalformedHttpResponse extends Error {
  constructor(problem: string) {
    super(`the answer is not a readable HTTP/1.1 response: ${problem}`);
    this.name = "MalformedHttpResponse";
  }
}

const HEADER_END = Buffer.from("\r\n\r\n");

/**
 * Parses a complete HTTP/1.x response (the server closed the connection after it): the status
 * line, the headers, and a body delimited by `Transfer-Encoding: chunked`, by `Content-Length`,
 * or by the end of the connection.
 * @throws {MalformedHttpResponse} naming what is wrong.
 */
export function parseHttpResponse(raw: Buffer): RawHttpResponse {
  const headerEnd = raw.indexOf(HEADER_END);
  if (headerEnd < 0) throw new MalformedHttpResponse("the connection closed before the headers ended");
  const [statusLine = "", ...headerLines] = raw.subarray(0, headerEnd).toString("latin1").split("\r\n");
  const statusMatch = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (statusMatch === null) throw new MalformedHttpResponse(`bad status line ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MalformedHttpResponse(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const rest = raw.subarray(headerEnd + HEADER_END.length);
  const status = Number(statusMatch[1]);
  const transferEncoding = headers.get("transfer-encoding")?.toLowerCase();
  if (transferEncoding !== undefined && transferEncoding !== "identity") {
    if (transferEncoding !== "chunked") throw new MalformedHttpResponse(`unsupported transfer encoding ${JSON.stringify(transferEncoding)}`);
    return { status, body: decodeChunked(rest) };
  }
  const contentLength = headers.get("content-length");
  if (contentLength !== undefined) {
    if (!/^\d+$/.test(contentLength)) throw new MalformedHttpResponse(`bad content-length ${JSON.stringify(contentLength)}`);
    const length = Number(contentLength);
    if (rest.length < length) throw new MalformedHttpResponse(`the body ended after ${rest.length} of ${length} bytes`);
    return { status, body: rest.subarray(0, length) };
  }
  return { status, body: rest };
}

function decodeChunked(encoded: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = encoded.indexOf("\r\n", offset);
    if (lineEnd < 0) throw new MalformedHttpResponse("a chunk size line is cut off");
    const sizeText = encoded.subarray(offset, lineEnd).toString("latin1").split(";")[0]?.trim() ?? "";
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new MalformedHttpResponse(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
    const size = Number.parseInt(sizeText, 16);
    const start = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (encoded.length < start + size + 2) throw new MalformedHttpResponse("a chunk is cut off");
    parts.push(encoded.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** One request of {@link requestOverUnixSocket}. */
export interface UnixHttpRequest {
  readonly method: string;
  /** Path and query, already encoded. */
  readonly path: string;
  /** A JSON body, sent with its content type and length. */
  readonly json?: string;
}

/**
 * Sends one HTTP/1.1 request over a unix socket and resolves with the whole response once the
 * server closes the connection (`Connection: close`). The request side is never half-closed:
 * some servers (Go's, which snapd uses) treat that as the client going away.
 * Rejects with the socket's own error (`ENOENT`, `ECONNREFUSED`, ...) when it cannot connect or
 * the connection breaks, and with {@link MalformedHttpResponse} when the answer is not HTTP.
 */
export function requestOverUnixSocket(socketPath: string, request: UnixHttpRequest): Promise<RawHttpResponse> {
  const head = [`${request.method} ${request.path} HTTP/1.1`, "Host: localhost", "Connection: close"];
  if (request.json !== undefined) head.push("Content-Type: application/json", `Content-Length: ${Buffer.byteLength(request.json)}`);
  const bytes = Buffer.from(`${head.join("\r\n")}\r\n\r\n${request.json ?? ""}`, "utf8");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let failed = false;
    const socket = createConnection(socketPath);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      failed = true;
      reject(error);
    });
    socket.on("close", () => {
      if (failed) return;
      try {
        resolve(parseHttpResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
  });
}
