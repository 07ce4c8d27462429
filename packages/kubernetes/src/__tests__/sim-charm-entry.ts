// The entry point bundled into the process-mode test charm's dist/charm.cjs: `dispatch`
// runs it for every event, with the simulator's hook tools on PATH.
import { runCharm } from "@refresh/juju";
import { simCharm } from "./sim-charm.js";

void runCharm(simCharm);
