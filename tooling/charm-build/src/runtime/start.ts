// The script `dispatch` starts for every event, bundled by charm-build into dist/start.cjs: it
// runs the charm's bundle beside it with the code cache kept in the charm directory (see
// code-cache.ts). Only Node's builtins are loaded before the bundle.
import { dirname, join } from "node:path";
import { runCharmBundle } from "./code-cache.ts";
import { CHARM_BUNDLE_NAME, CODE_CACHE_DIR } from "./paths.ts";

const codeDir = dirname(process.argv[1] ?? ".");
runCharmBundle({
  bundlePath: join(codeDir, CHARM_BUNDLE_NAME),
  cacheDir: join(codeDir, "..", CODE_CACHE_DIR),
  event: process.env["JUJU_DISPATCH_PATH"] ?? "",
  // This file only ever runs bundled as CommonJS, where `require` is the module's own.
  require,
});
