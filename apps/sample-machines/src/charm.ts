// The charm's entry point: `dispatch` runs this (bundled into dist/charm.mjs) for every event.
import { runCharm } from "@refresh/juju";
import { handleEvent } from "./sample-charm.js";

await runCharm(handleEvent);
