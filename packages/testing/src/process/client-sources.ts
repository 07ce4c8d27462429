import { HOOK_TOOL_SOCKET_ENV } from "./protocol.js";

/**
 * Sources of the two hook-tool clients. Both do the same small job, like Juju's `jujuc`:
 * name the tool after argv[0], send context id, cwd, the exact argv and (only for
 * `--file -`) stdin to the simulator, then replay stdout, stderr and the exit code. All
 * parsing lives in the simulator, so the clients never need to change with a tool.
 */

/**
 * The C client: starts in about a millisecond, so a hook that makes dozens of tool calls
 * costs what it would on Juju. Compiled once per machine and cached.
 */
export const C_CLIENT_SOURCE = String.raw`/* Hook-tool client for the @refresh/testing simulator (generated; do not edit). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct buf { unsigned char *data; size_t len, cap; };

static const char *tool_name = "hook-tool";

static void die(const char *message, const char *detail) {
  fprintf(stderr, "ERROR %s: %s%s%s\n", tool_name, message, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static void put(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *grown = realloc(b->data, cap);
    if (!grown) die("out of memory", NULL);
    b->data = grown;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void put_u32(struct buf *b, uint32_t v) {
  unsigned char bytes[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v };
  put(b, bytes, 4);
}

static void put_field(struct buf *b, const void *p, size_t n) {
  put_u32(b, (uint32_t)n);
  put(b, p, n);
}

static uint32_t get_u32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void read_all(int fd, struct buf *b, const char *what) {
  unsigned char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      die(what, strerror(errno));
    }
    put(b, chunk, (size_t)n);
  }
}

static void write_all(int fd, const unsigned char *p, size_t n, int is_socket) {
  while (n > 0) {
    ssize_t w = is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (is_socket) die("cannot send the call to the simulator", strerror(errno));
      exit(1);
    }
    p += w;
    n -= (size_t)w;
  }
}

/* Juju reads stdin only for "--file -"; reading it otherwise could block forever. */
static int wants_stdin(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) return 0;
    if ((strcmp(a, "--file") == 0 || strcmp(a, "-file") == 0) && i + 1 < argc && strcmp(argv[i + 1], "-") == 0) return 1;
    if (strcmp(a, "--file=-") == 0 || strcmp(a, "-file=-") == 0) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *slash = strrchr(argv[0], '/');
  tool_name = slash ? slash + 1 : argv[0];
  const char *address = getenv("${HOOK_TOOL_SOCKET_ENV}");
  if (!address || !*address) die("${HOOK_TOOL_SOCKET_ENV} is not set; hook tools only work inside a hook run by the simulator", NULL);
  const char *context = getenv("JUJU_CONTEXT_ID");
  if (!context) context = "";
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) cwd[0] = '\0';

  struct buf input = { 0 };
  int has_stdin = wants_stdin(argc, argv);
  if (has_stdin) read_all(0, &input, "cannot read stdin");

  struct buf request = { 0 };
  put(&request, "RHT1", 4);
  put_u32(&request, 0);
  put_field(&request, context, strlen(context));
  put_field(&request, tool_name, strlen(tool_name));
  put_field(&request, cwd, strlen(cwd));
  put_u32(&request, (uint32_t)(argc - 1));
  for (int i = 1; i < argc; i++) put_field(&request, argv[i], strlen(argv[i]));
  put_u32(&request, (uint32_t)has_stdin);
  put_field(&request, input.data, input.len);
  uint32_t payload = (uint32_t)(request.len - 8);
  request.data[4] = (unsigned char)(payload >> 24);
  request.data[5] = (unsigned char)(payload >> 16);
  request.data[6] = (unsigned char)(payload >> 8);
  request.data[7] = (unsigned char)payload;

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(address) >= sizeof sa.sun_path) die("the simulator's socket path is too long", address);
  strcpy(sa.sun_path, address);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) die("cannot create a socket", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("cannot reach the simulator's hook-tool server", strerror(errno));
  write_all(fd, request.data, request.len, 1);

  struct buf response = { 0 };
  read_all(fd, &response, "cannot read the simulator's answer");
  close(fd);
  if (response.len < 16 || memcmp(response.data, "RHT1", 4) != 0) die("the simulator's answer is incomplete", NULL);
  uint32_t code = get_u32(response.data + 4);
  size_t out_len = get_u32(response.data + 8);
  if (12 + out_len + 4 > response.len) die("the simulator's answer is incomplete", NULL);
  size_t err_len = get_u32(response.data + 12 + out_len);
  if (16 + out_len + err_len != response.len) die("the simulator's answer is incomplete", NULL);
  write_all(1, response.data + 12, out_len, 0);
  write_all(2, response.data + 16 + out_len, err_len, 0);
  return (int)code;
}
`;

/**
 * The Node client: the fallback when no C compiler is available. Same protocol, but each
 * call pays a Node start-up (tens of milliseconds), so whole-hook timings are pessimistic.
 * `nodePath` becomes the shebang, so the client does not depend on `node` being on `PATH`.
 */
export function nodeClientSource(nodePath: string): string {
  return `#!${nodePath}
// Hook-tool client for the @refresh/testing simulator (generated; do not edit).
import { connect } from "node:net";
import { basename } from "node:path";
import { readFileSync } from "node:fs";

const tool = basename(process.argv[1] ?? "hook-tool");
const fail = (message) => { process.stderr.write("ERROR " + tool + ": " + message + "\\n"); process.exit(1); };
const address = process.env.${HOOK_TOOL_SOCKET_ENV};
if (!address) fail("${HOOK_TOOL_SOCKET_ENV} is not set; hook tools only work inside a hook run by the simulator");
const args = process.argv.slice(2);
let wantsStdin = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--") break;
  if ((a === "--file" || a === "-file") && args[i + 1] === "-") { wantsStdin = true; break; }
  if (a === "--file=-" || a === "-file=-") { wantsStdin = true; break; }
}
const stdin = wantsStdin ? readFileSync(0) : Buffer.alloc(0);
const parts = [];
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); parts.push(b); };
const field = (v) => { const b = typeof v === "string" ? Buffer.from(v, "utf8") : v; u32(b.length); parts.push(b); };
field(process.env.JUJU_CONTEXT_ID ?? "");
field(tool);
field(process.cwd());
u32(args.length);
for (const a of args) field(a);
u32(wantsStdin ? 1 : 0);
field(stdin);
const payload = Buffer.concat(parts);
const header = Buffer.alloc(8);
header.write("RHT1", 0, "latin1");
header.writeUInt32BE(payload.length, 4);
const chunks = [];
const socket = connect(address);
socket.on("error", (e) => fail("cannot reach the simulator's hook-tool server: " + e.message));
socket.on("data", (c) => chunks.push(c));
socket.on("end", () => {
  const r = Buffer.concat(chunks);
  if (r.length < 16 || r.subarray(0, 4).toString("latin1") !== "RHT1") fail("the simulator's answer is incomplete");
  const code = r.readUInt32BE(4);
  const outLen = r.readUInt32BE(8);
  const errLen = r.readUInt32BE(12 + outLen);
  process.stdout.write(r.subarray(12, 12 + outLen));
  process.stderr.write(r.subarray(16 + outLen, 16 + outLen + errLen));
  process.exitCode = code;
});
socket.end(Buffer.concat([header, payload]));
`;
}
