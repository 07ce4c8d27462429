import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createHookTools } from "./process-hook-tools.js";
import { writeCharmScript } from "./test-support/charm-script.js";
import { createFakeToolbox } from "./test-support/fake-tools.js";

/*
 * Per-hook cost (design decision 6). Run with `pnpm --filter @refresh/juju exec vitest bench`.
 * Hook tools here are /bin/sh fakes, so a real agent round trip adds to the tool numbers;
 * the charm start includes Node stripping this package's TypeScript, which a bundled charm
 * does not pay.
 */

const box = await createFakeToolbox();
const charm = join(box.bin, "..", "charm.mjs");
await writeCharmScript(charm);
await box.install("juju-log");
await box.install("relation-get", { stdout: '{"state":"idle","versions":"{}"}' });
await box.install("is-leader", { stdout: "true" });

const env = box.env({
  JUJU_DISPATCH_PATH: "hooks/update-status",
  JUJU_UNIT_NAME: "db/1",
  JUJU_MODEL_NAME: "prod",
  JUJU_MODEL_UUID: "0b5d6a8e-1f0c-4d7e-9a4b-3c2d1e0f9a8b",
  JUJU_VERSION: "3.6.4",
});

afterAll(() => box.cleanup());

describe("per-hook cost", () => {
  test("charm process: start, runCharm, one juju-log line, exit", async ({ bench }) => {
    await bench(
      "dispatch to exit",
      () =>
        new Promise<void>((resolve, reject) => {
          execFile(process.execPath, ["--no-warnings", charm], { env, cwd: dirname(charm) }, (error) =>
            error === null ? resolve() : reject(error),
          );
        }),
    ).run({ time: 0, iterations: 5, warmupTime: 0, warmupIterations: 1 });
  });

  test("one hook's repeated reads cost two processes", async ({ bench }) => {
    let processes = 0;
    await bench("20 relation-get + 20 is-leader of the same values", async () => {
      const tools = createHookTools({ env: box.env(), unitName: "db/1" });
      for (let i = 0; i < 20; i++) {
        await tools.relationGet("refresh-v-three:3", { unit: "db/0" });
        await tools.isLeader();
      }
      processes = Object.values(tools.stats()).reduce((sum, n) => sum + n, 0);
    }).run({ time: 2_000, iterations: 5 });
    expect(processes).toBe(2);
  });
});
