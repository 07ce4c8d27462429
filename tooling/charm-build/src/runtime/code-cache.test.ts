import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHARM_BUNDLE_PATH, START_SCRIPT_PATH } from "../layout.ts";
import { writeCharmCode } from "../pack.ts";
import { decodeCodeCache, encodeCodeCache } from "./code-cache.ts";
import { CODE_CACHE_DIR } from "./paths.ts";

describe("the code cache file format", () => {
  it("reads back what it wrote", () => {
    const data = Buffer.from([1, 2, 3, 250]);
    expect(decodeCodeCache(encodeCodeCache({ events: ["hooks/install", "actions/résumé"], data }))).toEqual({ events: ["hooks/install", "actions/résumé"], data });
  });

  it.each([
    ["too short for a header", Buffer.from([1, 0])],
    ["a header longer than the file", Buffer.concat([Buffer.from([200, 0, 0, 0]), Buffer.from("[]")])],
    ["a header that is not JSON", Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from("[x"), Buffer.from([9])])],
    ["a header that is not a list of strings", Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from("[1]"), Buffer.from([9])])],
    ["no code after the header", Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from("[]")])],
  ])("treats a file with %s as no cache", (_what, bytes) => {
    expect(decodeCodeCache(bytes)).toBeUndefined();
  });
});

describe("dispatch's start script", () => {
  let charmDir: string;
  let entry: string;

  beforeEach(async () => {
    charmDir = mkdtempSync(join(tmpdir(), "code-cache-test-"));
    entry = join(charmDir, "entry.ts");
    // Exercises what a charm's bundle relies on: builtins through require, a dynamic import
    // of a builtin, an exit code, and output that tells which code ran.
    writeFileSync(
      entry,
      [
        'import { machine } from "node:os";',
        "async function main(): Promise<void> {",
        '  const { sep } = await import("node:path");',
        '  process.stdout.write(`code v1 ${typeof machine()} ${sep}`);',
        "  process.exitCode = 3;",
        "}",
        "void main();",
        "",
      ].join("\n"),
    );
    await writeCharmCode(entry, charmDir);
  });
  afterEach(() => {
    rmSync(charmDir, { recursive: true, force: true });
  });

  /** Starts the charm as `dispatch` does; `fromCharmDir` gives Node the script's path relative to the charm directory. */
  function start(event: string, fromCharmDir = false): { stdout: string; status: number | null; stderr: string } {
    const result = spawnSync(process.execPath, [fromCharmDir ? START_SCRIPT_PATH : join(charmDir, START_SCRIPT_PATH)], {
      cwd: fromCharmDir ? charmDir : process.cwd(),
      env: { PATH: process.env["PATH"] ?? "", JUJU_DISPATCH_PATH: event },
      encoding: "utf8",
    });
    return { stdout: result.stdout, status: result.status, stderr: result.stderr };
  }

  function cacheFiles(): string[] {
    return readdirSync(join(charmDir, CODE_CACHE_DIR));
  }

  function cachedEvents(): readonly string[] | undefined {
    const [file] = cacheFiles();
    return file === undefined ? undefined : decodeCodeCache(readFileSync(join(charmDir, CODE_CACHE_DIR, file)))?.events;
  }

  it("runs the bundle as Node runs a CommonJS main module", () => {
    expect(start("hooks/install")).toEqual({ stdout: `code v1 string /`, status: 3, stderr: "" });
  });

  it("writes the cache on an event's first run, and only grows it for events it does not hold", () => {
    start("hooks/install");
    expect(cachedEvents()).toEqual(["hooks/install"]);
    const [file] = cacheFiles();
    const written = statSync(join(charmDir, CODE_CACHE_DIR, file ?? "")).mtimeMs;

    expect(start("hooks/install").stdout).toBe("code v1 string /");
    expect(statSync(join(charmDir, CODE_CACHE_DIR, file ?? "")).mtimeMs, "a cache holding the event is not written again").toBe(written);

    start("hooks/update-status");
    // V8 accepted the cache (a rejected one starts over), so the list grew rather than restarted.
    expect(cachedEvents()).toEqual(["hooks/install", "hooks/update-status"]);
    expect(cacheFiles()).toHaveLength(1);
  });

  it("never runs cached code for a bundle edited in place, even at the same length", () => {
    start("hooks/install");
    const bundle = join(charmDir, CHARM_BUNDLE_PATH);
    const edited = readFileSync(bundle, "utf8").replace("code v1", "code v2");
    writeFileSync(bundle, edited);
    const later = new Date(Date.now() + 5_000);
    utimesSync(bundle, later, later);

    expect(start("hooks/install").stdout).toBe("code v2 string /");
    expect(cacheFiles(), "the old bundle's cache is dropped").toHaveLength(1);
    expect(cachedEvents()).toEqual(["hooks/install"]);
  });

  it("runs from source and writes a good cache over a corrupt one", () => {
    start("hooks/install");
    const [file] = cacheFiles();
    const path = join(charmDir, CODE_CACHE_DIR, file ?? "");
    const bytes = readFileSync(path);
    writeFileSync(path, encodeCodeCache({ events: ["hooks/install"], data: Buffer.alloc(bytes.length, 7) }));

    expect(start("hooks/install")).toMatchObject({ stdout: "code v1 string /", status: 3 });
    // The garbage was rejected, so the list started over with this event.
    expect(cachedEvents()).toEqual(["hooks/install"]);
    start("hooks/config-changed");
    expect(cachedEvents()).toEqual(["hooks/install", "hooks/config-changed"]);
  });

  it("runs the charm when the cache cannot be written", () => {
    writeFileSync(join(charmDir, CODE_CACHE_DIR), "a file where the cache directory should be");
    expect(start("hooks/install")).toEqual({ stdout: "code v1 string /", status: 3, stderr: "" });
    expect(readFileSync(join(charmDir, CODE_CACHE_DIR), "utf8")).toBe("a file where the cache directory should be");
  });

  it("finds the bundle and the cache from a relative path too, as a dispatch run from the charm directory gives", () => {
    expect(start("hooks/start", true)).toEqual({ stdout: "code v1 string /", status: 3, stderr: "" });
    expect(cachedEvents()).toEqual(["hooks/start"]);
  });
});
