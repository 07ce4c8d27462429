/**
 * Where a charm's code sits in a charm directory. Its own module so that the start script
 * (runtime/start.ts) takes the names without loading the rest of charm-build.
 */

/** The directory of the charm's code, relative to the charm directory. */
export const CODE_DIR = "dist";

/** The bundled charm in {@link CODE_DIR}: CommonJS (see docs/decisions.md, "The bundle is CommonJS"). */
export const CHARM_BUNDLE_NAME = "charm.cjs";

/** The script `dispatch` starts, in {@link CODE_DIR}: it runs the bundle with the code cache. */
export const START_SCRIPT_NAME = "start.cjs";

/** The code cache, relative to the charm directory. Written when the charm runs, so packing leaves it out. */
export const CODE_CACHE_DIR = ".code-cache";
