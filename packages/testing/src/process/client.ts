import { createHash } from "node:crypto";
import { access, chmod, constants, lstat, mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { C_CLIENT_SOURCE, nodeClientSource } from "./client-sources.js";
import { HOOK_TOOL_NAMES } from "./commands.js";
import { TestingError } from "../errors.js";
import { runProcess } from "./spawn.js";

/**
 * Which client the hook tools on `PATH` run: `compiled` (the C client; fails if it cannot
 * be compiled), `node` (the Node fallback) or `auto` (compiled, falling back to node).
 */
export type HookToolClientChoice = "auto" | "compiled" | "node";

/** The client a bin directory ended up with, and why. */
export type HookToolClient =
  | { readonly kind: "compiled"; readonly path: string }
  | { readonly kind: "node"; readonly path: string; readonly reason: string };

/** A directory holding one entry per hook tool, all pointing at the same client. */
export interface HookToolBinDir {
  readonly path: string;
  readonly client: HookToolClient;
}

/** Options of {@link installHookToolBinDir}. */
export interface InstallOptions {
  readonly client: HookToolClientChoice;
  readonly cacheDir?: string | undefined;
  readonly compiler?: string | undefined;
}

/** A `PATH` with the usual system directories, for the compiler and for hooks. */
export const HOOK_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The stable codes a {@link HookToolClientBuildError} carries: the cache directory is unsafe
 * or cannot be written, the compiler cannot be run, or it rejected the source.
 */
export type HookToolClientBuildErrorCode =
  | "HOOK_TOOL_CLIENT_CACHE_DIR_UNSAFE"
  | "HOOK_TOOL_CLIENT_CACHE_DIR_UNWRITABLE"
  | "HOOK_TOOL_CLIENT_COMPILER_MISSING"
  | "HOOK_TOOL_CLIENT_BUILD_FAILED";

const NODE_FALLBACK = 'or start the HookToolServer with client: "node" to use the slower Node client';

/** The C client could not be built; the message says why and how to get the Node fallback. */
export class HookToolClientBuildError extends TestingError {
  declare readonly code: HookToolClientBuildErrorCode;

  /** `detail` says what went wrong, `fix` what to do about it (the Node fallback is always added). */
  constructor(code: HookToolClientBuildErrorCode, detail: string, fix: string) {
    super(code, `cannot compile the hook-tool client: ${detail}. ${fix}, ${NODE_FALLBACK}`);
  }
}

function defaultCacheDir(): string {
  let user = "user";
  try {
    user = String(userInfo().uid);
  } catch {
    // Some containers have no passwd entry; a shared name is still correct, only less tidy.
  }
  return join(tmpdir(), `refresh-hook-tool-client-${user}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every hook runs the cached binary, so a cache directory someone else could write to (the
 * default lives in the shared temp dir) would let them run code in every simulated hook.
 */
async function requirePrivateDirectory(dir: string): Promise<void> {
  const info = await lstat(dir);
  const owner = process.getuid?.();
  if (!info.isDirectory() || (owner !== undefined && info.uid !== owner) || (info.mode & 0o022) !== 0) {
    throw new HookToolClientBuildError(
      "HOOK_TOOL_CLIENT_CACHE_DIR_UNSAFE",
      `the cache directory ${dir} is not a directory that only this user can write to`,
      "Remove it or pass another cacheDir",
    );
  }
}

/**
 * Returns the path of the compiled C client, compiling it on first use. The binary is named
 * after a hash of its source, so a changed client is rebuilt, and it is renamed into place
 * so concurrent test workers never run a half-written file.
 */
export async function compiledHookToolClient(options: { cacheDir?: string | undefined; compiler?: string | undefined } = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const hash = createHash("sha256").update(C_CLIENT_SOURCE).digest("hex").slice(0, 16);
  const binary = join(cacheDir, `hook-tool-${hash}`);
  try {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new HookToolClientBuildError(
      "HOOK_TOOL_CLIENT_CACHE_DIR_UNWRITABLE",
      `cannot create the cache directory ${cacheDir} (${(error as Error).message})`,
      "Pass a cacheDir this user can create",
    );
  }
  await requirePrivateDirectory(cacheDir);
  if (await exists(binary)) return binary;
  const unique = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const source = join(cacheDir, `hook-tool-${hash}-${unique}.c`);
  const partial = `${binary}.${unique}.partial`;
  try {
    await writeFile(source, C_CLIENT_SOURCE);
  } catch (error) {
    throw new HookToolClientBuildError(
      "HOOK_TOOL_CLIENT_CACHE_DIR_UNWRITABLE",
      `cannot write to the cache directory ${cacheDir} (${(error as Error).message})`,
      "Free some space or pass another cacheDir",
    );
  }
  try {
    const outcome = await runProcess({
      file: options.compiler ?? "cc",
      args: ["-O2", "-o", partial, source],
      cwd: cacheDir,
      env: { PATH: HOOK_SYSTEM_PATH, LANG: "C" },
      timeoutMs: 60_000,
    });
    if (outcome.startError !== undefined) {
      throw new HookToolClientBuildError(
        "HOOK_TOOL_CLIENT_COMPILER_MISSING",
        `${options.compiler ?? "cc"} could not be run (${outcome.startError.message})`,
        "Install a C compiler (cc)",
      );
    }
    if (outcome.exitCode !== 0) {
      throw new HookToolClientBuildError(
        "HOOK_TOOL_CLIENT_BUILD_FAILED",
        `${options.compiler ?? "cc"} failed: ${outcome.stderr.trim() || `exit ${String(outcome.exitCode)}`}`,
        "Install a working C compiler (cc)",
      );
    }
    await rename(partial, binary);
    return binary;
  } finally {
    await rm(source, { force: true });
    await rm(partial, { force: true });
  }
}

/**
 * Creates `dir` with one symlink per hook tool to the client (the client dispatches on
 * argv[0], like Juju's `jujuc`). With `auto`, a failed compilation falls back to the Node
 * client and the reason is kept in `client.reason`.
 */
export async function installHookToolBinDir(dir: string, options: InstallOptions): Promise<HookToolBinDir> {
  await mkdir(dir, { recursive: true });
  let client: HookToolClient;
  if (options.client === "node") {
    client = { kind: "node", path: await writeNodeClient(dir), reason: "the Node client was asked for" };
  } else {
    try {
      client = { kind: "compiled", path: await compiledHookToolClient(options) };
    } catch (error) {
      if (options.client === "compiled" || !(error instanceof HookToolClientBuildError)) throw error;
      client = { kind: "node", path: await writeNodeClient(dir), reason: error.message };
    }
  }
  for (const name of HOOK_TOOL_NAMES) await symlink(client.path, join(dir, name));
  return { path: dir, client };
}

async function writeNodeClient(dir: string): Promise<string> {
  // Outside `dir`, so the bin directory holds only tool names.
  const path = join(dirname(dir), "hook-tool-client.mjs");
  await writeFile(path, nodeClientSource(process.execPath));
  await chmod(path, 0o755);
  return path;
}
