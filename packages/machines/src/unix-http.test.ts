import { createServer, type Server } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { MalformedHttpResponse, parseHttpResponse, requestOverUnixSocket } from "./unix-http.js";

const response = (text: string) => Buffer.from(text, "latin1");

describe("parseHttpResponse", () => {
  it("reads a body delimited by Content-Length, ignoring anything after it", () => {
    const parsed = parseHttpResponse(response('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"type":1}\nextra'));
    expect(parsed.status).toBe(200);
    expect(parsed.body.toString()).toBe('{"type":1}\n');
  });

  it("reads a chunked body, with chunk extensions and trailers", () => {
    const parsed = parseHttpResponse(response("HTTP/1.1 202 Accepted\r\ntransfer-encoding: Chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n"));
    expect(parsed.status).toBe(202);
    expect(parsed.body.toString()).toBe('{"a":1}');
  });

  it("reads a body delimited by the end of the connection", () => {
    expect(parseHttpResponse(response("HTTP/1.0 404 Not Found\r\n\r\nnope")).body.toString()).toBe("nope");
  });

  it.each([
    ["no end of headers", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"],
    ["not HTTP", "<html>\r\n\r\n"],
    ["a short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"],
    ["a bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"],
    ["a cut-off chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"],
    ["an unknown transfer encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc"],
  ])("rejects %s", (_name, text) => {
    expect(() => parseHttpResponse(response(text))).toThrow(MalformedHttpResponse);
  });

  it("decodes any body however it was split into chunks", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }), (body, sizes) => {
        const parts: Buffer[] = [Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")];
        let offset = 0;
        for (const size of [...sizes, body.length]) {
          const chunk = body.subarray(offset, offset + size);
          if (chunk.length === 0) break;
          parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), Buffer.from(chunk), Buffer.from("\r\n"));
          offset += chunk.length;
        }
        parts.push(Buffer.from("0\r\n\r\n"));
        expect(parseHttpResponse(Buffer.concat(parts)).body.equals(Buffer.from(body))).toBe(true);
      }),
    );
  });
});

describe("requestOverUnixSocket against Node's HTTP server", () => {
  let server: Server | undefined;
  afterEach(async () => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))));

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const socketPath = join(mkdtempSync(join(tmpdir(), "unix-http-")), "server.socket");
    server = createServer(handler);
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(socketPath, resolve));
    return socketPath;
  }

  it("sends the method, path and JSON body, and reads a streamed (chunked) answer", async () => {
    const socketPath = await serve((request, reply) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        reply.writeHead(202, { "content-type": "application/json" });
        reply.write(`{"method":"${request.method ?? ""}","url":"${request.url ?? ""}",`);
        reply.end(`"got":${Buffer.concat(chunks).toString()}}`);
      });
    });
    const answer = await requestOverUnixSocket(socketPath, { method: "POST", path: "/v2/snaps/x?select=all", json: '{"action":"refresh"}' });
    expect(answer.status).toBe(202);
    expect(JSON.parse(answer.body.toString())).toEqual({ method: "POST", url: "/v2/snaps/x?select=all", got: { action: "refresh" } });
  });

  it("rejects with the socket's error code when nobody listens", async () => {
    const missing = join(mkdtempSync(join(tmpdir(), "unix-http-")), "absent.socket");
    await expect(requestOverUnixSocket(missing, { method: "GET", path: "/" })).rejects.toMatchObject({ code: "ENOENT" });
  });
});
