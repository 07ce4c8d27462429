import { connect } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MalformedFrameError, decodeRequest, encodeRequest, requestFrameLength } from "./protocol.js";
import { InMemoryHookTools } from "./recording-tools.test-support.js";
import { HookToolServer } from "./server.js";

const text = fc.string({ unit: "binary", maxLength: 30 });

describe("request frames", () => {
  it("decode to what was encoded, for any text and stdin (property)", () => {
    fc.assert(
      fc.property(text, text, text, fc.array(text, { maxLength: 6 }), fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }), (contextId, tool, cwd, args, stdin) => {
        const request = { contextId, tool, cwd, args, stdin: stdin === undefined ? undefined : Buffer.from(stdin) };
        const frame = encodeRequest(request);
        expect(requestFrameLength(frame)).toBe(frame.length);
        expect(requestFrameLength(frame.subarray(0, 7))).toBeUndefined();
        expect(decodeRequest(frame)).toEqual(request);
      }),
    );
  });

  it("are rejected when the marker is wrong or they are cut short", () => {
    const frame = encodeRequest({ contextId: "c", tool: "is-leader", cwd: "/", args: ["--format=json"], stdin: undefined });
    expect(() => requestFrameLength(Buffer.from("GET / HTTP/1.1\r\n"))).toThrow(MalformedFrameError);
    const truncated = Buffer.from(frame.subarray(0, frame.length - 3));
    truncated.writeUInt32BE(truncated.length - 8, 4);
    expect(() => decodeRequest(truncated)).toThrow(MalformedFrameError);
    expect(() => requestFrameLength(Buffer.from("GET / HTTP/1.1\r\n"))).toThrow(expect.objectContaining({ code: "HOOK_TOOL_FRAME_BAD_MARKER" }));
    expect(() => decodeRequest(truncated)).toThrow(expect.objectContaining({ code: "HOOK_TOOL_FRAME_TRUNCATED" }));
    expect(() => decodeRequest(Buffer.concat([frame, Buffer.from([0])]))).toThrow(expect.objectContaining({ code: "HOOK_TOOL_FRAME_TRAILING_BYTES" }));
  });
});

describe("the server socket", () => {
  it("answers a stranger's bytes with an error instead of hanging or crashing", async () => {
    const server = await HookToolServer.start();
    try {
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = connect(server.socketPath, () => socket.write("hello, is this HTTP?\n"));
        socket.on("data", (chunk) => chunks.push(chunk));
        socket.on("end", () => resolve(Buffer.concat(chunks)));
        socket.on("error", reject);
      });
      expect(answer.subarray(0, 4).toString()).toBe("RHT1");
      expect(answer.readUInt32BE(4)).toBe(1);
      expect(answer.toString()).toContain("malformed hook-tool request");
    } finally {
      await server.close();
    }
  });

  it("refuses a context id that is still registered, and takes it again once released", async () => {
    const server = await HookToolServer.start({ client: "node" });
    try {
      const release = server.register("ctx-1", new InMemoryHookTools("db/0"));
      expect(() => server.register("ctx-1", new InMemoryHookTools("db/1"))).toThrow(expect.objectContaining({ code: "HOOK_TOOL_CONTEXT_ALREADY_REGISTERED" }));
      release();
      expect(() => server.register("ctx-1", new InMemoryHookTools("db/1"))).not.toThrow();
    } finally {
      await server.close();
    }
  });
});
