export { charmVersionFromGit, describeRepository, parseGitDescribe, setCharmVersion } from "./charm-version.ts";
export type { GitDescription } from "./charm-version.ts";
export { CharmBuildError } from "./errors.ts";
export { CHARM_BUNDLE_PATH, START_SCRIPT_PATH, dispatchFor, dispatchScript, prefetchPlanFor, splitCharmcraftYaml } from "./layout.ts";
export type { CharmMetadataFiles } from "./layout.ts";
export { fetchNodeRuntime, nodePackageFor } from "./node-runtime.ts";
export { buildCharm, bundle, packCharm, writeCharmCode } from "./pack.ts";
export type { BuildCharmOptions } from "./pack.ts";
