import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Answers with a JSON body, as both fake servers (Kubernetes API, snapd) do. A client that
 * hung up while its request was parked at a yield point gets nothing: there is no one to
 * answer, and writing to the closed socket would only raise an error nobody handles.
 */
export function sendJson(response: ServerResponse, status: number, payload: unknown): void {
  if (response.destroyed) return;
  const body = JSON.stringify(payload);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  response.end(body);
}

/** The whole request body as UTF-8 text (empty for a request without one). */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A time as Kubernetes and snapd write it on the wire: RFC 3339 in UTC to the second
 * (`2024-05-01T12:00:00Z`), without the milliseconds `toISOString` adds.
 */
export function wireTimestamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}
