import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { START_SCRIPT_PATH, dispatchFor, dispatchScript, prefetchPlanFor } from "./layout.ts";

const PEERS = "peers:\n  refresh-v-three:\n    interface: refresh\n";

describe("prefetchPlanFor", () => {
  it("reads the refresh peer relation, and goal-state only for a machine charm until its units have all joined", () => {
    expect(prefetchPlanFor(`name: db\n${PEERS}`)).toEqual({
      peerEndpoints: ["refresh-v-three"],
      goalState: true,
      goalStateUnlessFile: ".charm_refresh_v3/machines_peer_relation_initialized",
    });
    expect(prefetchPlanFor(`name: db\ncontainers:\n  workload:\n    resource: image\n${PEERS}`)).toEqual({
      peerEndpoints: ["refresh-v-three"],
      goalState: false,
    });
  });

  it("prefetches nothing for a charm without the refresh library's peer relation", () => {
    expect(prefetchPlanFor("name: db\npeers:\n  replicas:\n    interface: db-peers\n")).toBeUndefined();
    expect(prefetchPlanFor("name: db\n")).toBeUndefined();
    expect(prefetchPlanFor("")).toBeUndefined();
  });
});

describe("dispatch", () => {
  let charmDir: string;
  let bin: string;

  beforeEach(() => {
    const root = mkdtempSync(join(tmpdir(), "dispatch-test-"));
    charmDir = join(root, "charm");
    bin = join(root, "bin");
    mkdirSync(dirname(join(charmDir, START_SCRIPT_PATH)), { recursive: true });
    mkdirSync(bin);
    // What dispatch starts reports what it was given: the prefetch switch and everything on stdin.
    writeFileSync(
      join(charmDir, START_SCRIPT_PATH),
      'const { readFileSync } = require("node:fs");\nconst stdin = process.env.REFRESH_HOOK_TOOL_PREFETCH === "stdin" ? readFileSync(0, "utf8") : "";\nprocess.stdout.write(JSON.stringify({ prefetch: process.env.REFRESH_HOOK_TOOL_PREFETCH ?? null, stdin, event: process.env.JUJU_DISPATCH_PATH }));\n',
    );
    writeFileSync(join(bin, "is-leader"), "#!/bin/sh\necho true\n");
    chmodSync(join(bin, "is-leader"), 0o755);
  });
  afterEach(() => {
    rmSync(dirname(charmDir), { recursive: true, force: true });
  });

  function runDispatch(script: string): { prefetch: string | null; stdin: string; event: string } {
    writeFileSync(join(charmDir, "dispatch"), script);
    chmodSync(join(charmDir, "dispatch"), 0o755);
    const output = execFileSync(join(charmDir, "dispatch"), [], {
      env: { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, JUJU_UNIT_NAME: "db/0", JUJU_DISPATCH_PATH: "hooks/update-status" },
      encoding: "utf8",
    });
    return JSON.parse(output) as { prefetch: string | null; stdin: string; event: string };
  }

  it("pipes the answers of the hook tools it could run into the charm, and starts it for the event", () => {
    const result = runDispatch(dispatchFor(`name: db\n${PEERS}`));
    expect(result.prefetch).toBe("stdin");
    expect(result.event).toBe("hooks/update-status");
    // Only is-leader exists here: every other read failed and left no frame.
    expect(result.stdin.replace(/^@clock .*\n/, "")).toBe("@is-leader --format=json\ntrue\n");
  });

  it("starts the charm directly when there is nothing to prefetch", () => {
    const script = dispatchScript(undefined);
    expect(script).not.toContain("refresh_prefetch");
    expect(runDispatch(script)).toEqual({ prefetch: null, stdin: "", event: "hooks/update-status" });
  });

  it("runs the Node packed with the charm when there is one", () => {
    mkdirSync(join(charmDir, "bin"));
    writeFileSync(join(charmDir, "bin", "node"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
    chmodSync(join(charmDir, "bin", "node"), 0o755);
    // With nothing on PATH (dispatch itself needs only shell built-ins), only the packed Node can run the charm.
    writeFileSync(join(charmDir, "dispatch"), dispatchScript(undefined));
    chmodSync(join(charmDir, "dispatch"), 0o755);
    const output = execFileSync(join(charmDir, "dispatch"), [], { env: { PATH: bin, JUJU_DISPATCH_PATH: "hooks/install" }, encoding: "utf8" });
    expect(JSON.parse(output)).toMatchObject({ event: "hooks/install" });
  });
});
