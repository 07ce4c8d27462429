import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const INDEX = join(dirname(fileURLToPath(import.meta.url)), "..", "index.ts");

/**
 * Writes a charm entry point as a charm author writes one, for `node` to run on this
 * package's TypeScript sources (Node strips the types; the hook maps the `.js` import
 * suffixes to `.ts`). Its behaviour follows `CHARM_TEST_MODE`: `action` sets an action
 * result, `version` sets the workload version 14.9, `throw` fails with a chained error; anything
 * else just logs one line.
 */
export async function writeCharmScript(path: string): Promise<void> {
  const script = `
import { registerHooks } from "node:module";
registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (error) {
      if (specifier.startsWith(".") && specifier.endsWith(".js")) return next(specifier.slice(0, -3) + ".ts", context);
      throw error;
    }
  },
});
const { runCharm } = await import(${JSON.stringify(pathToFileURL(INDEX).href)});
await runCharm(async ({ context, tools, log }) => {
  log.info("running " + context.event.kind + " " + context.event.name + " on " + context.unitName);
  const mode = context.environment["CHARM_TEST_MODE"];
  if (mode === "action") await tools.actionSet({ result: "done" });
  if (mode === "version") await tools.applicationVersionSet("14.9");
  if (mode === "throw") throw new Error("workload unreachable", { cause: new Error("connection refused") });
});
`;
  await writeFile(path, script);
}
