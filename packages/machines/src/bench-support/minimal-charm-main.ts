// The entry point bundled as the minimal machine charm's dist/charm.cjs for hook-cost.bench.ts:
// `dispatch` runs it for every event, exactly as a deployed charm's entry runs.
import { handleEvent, runCharm } from "./minimal-charm.js";

void runCharm(handleEvent);
