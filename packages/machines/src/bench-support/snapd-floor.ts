// The floor of hook-cost.bench.ts: what any event of a machine charm following the reference
// pays before doing anything of its own. Node starts, loads this package's snapd client, asks the
// unit's fake snapd which revision of the workload snap is installed, then exits. No hook tool,
// no databag, no decision.
import { SnapdClient, snapdSocketPath } from "../snapd.js";

// Bundled as CommonJS like a charm: no top-level await.
void new SnapdClient({ socketPath: snapdSocketPath(process.env) }).installedRevision("charmed-db").then(() => process.exit(0));
