import { RefreshError } from "@refresh/core";

/**
 * Base of the errors @refresh/testing throws on purpose when a test asks its fakes for
 * something impossible (the fake cluster, the fake snapd, the hook-tool server…). Catch it to
 * handle any of them and branch on `code`, which is stable across releases; each subclass
 * narrows `code` to the values it can carry.
 */
export class TestingError extends RefreshError {}
