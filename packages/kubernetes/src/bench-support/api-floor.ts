// The floor of hook-cost.bench.ts: what any event of a Kubernetes charm following the reference
// pays before doing anything of its own. Node starts, loads node:https and this package's client,
// and makes the event's three requests (the trust check, the StatefulSet, the pods) over one TLS
// connection to the fake API server, then exits. No hook tool, no databag, no decision.
import { connectInCluster } from "../connect.js";

async function floor(): Promise<void> {
  const api = await connectInCluster({ environment: process.env, appName: "db" });
  await api.mayPatchStatefulSet();
  await api.readStatefulSet();
  await api.listPods();
}

// Bundled as CommonJS like a charm: no top-level await.
void floor().then(() => process.exit(0));
