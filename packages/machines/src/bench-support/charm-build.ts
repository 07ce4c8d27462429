/**
 * Loading `@refresh/charm-build`, to bundle test charms as a real charm is bundled.
 */
import type { CharmBundler } from "@refresh/testing";

// charm-build's sources import with `.ts` suffixes, which this package's tsconfig does not
// allow; a specifier typed as a plain string keeps tsc from following the import.
const CHARM_BUILD: string = "@refresh/charm-build";

/** `@refresh/charm-build`'s bundler and `dispatch` script, loaded on first use. */
export async function loadCharmBuild(): Promise<CharmBundler> {
  return (await import(CHARM_BUILD)) as CharmBundler;
}
