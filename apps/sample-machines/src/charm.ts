// The charm's entry point: `dispatch` runs this (bundled into dist/charm.cjs) for every event.
import { runCharm } from "@refresh/juju";
import { handleEvent } from "./sample-charm.js";

void runCharm(handleEvent);
