// A deliberately broken charm, for refresh-sim's tests only: it installs its workload snap
// even when `Machines.create` raised `PeerRelationNotReady` (in the install hook, before the
// unit joined the peer relation), when the library cannot yet tell whether a refresh is in
// progress. refresh-sim must report it as an invariant violation and exit 1.
import { active, loadRefreshVersions, PeerRelationNotReady, UnitTearingDown } from "@refresh/core";
import { runCharm } from "@refresh/juju";
import { Machines, SnapdClient, snapdSocketPath } from "@refresh/machines";

void runCharm(async (run) => {
  const { context } = run;
  const snapd = new SnapdClient({ socketPath: snapdSocketPath(context.environment) });
  const pinned = await loadRefreshVersions(context.charmDir);
  const snapName = pinned.snap?.name ?? "sample-db";
  let refresh: Machines | undefined;
  try {
    refresh = await Machines.create(run, {
      workloadName: "Sample DB",
      charmName: "eager-machines",
      runPreRefreshChecksBeforeAnyUnitsRefreshed: () => Promise.resolve(),
      refreshSnap: async ({ snapName: name, snapRevision, refresh: self, snapd: guarded }) => {
        await guarded.refresh(name, snapRevision);
        await self.updateSnapRevision();
      },
    });
  } catch (error) {
    if (error instanceof UnitTearingDown) return;
    // The bug under test: carrying on to the install below instead of returning.
    if (!(error instanceof PeerRelationNotReady)) throw error;
  }
  if ((await snapd.installedRevision(snapName)) === null) {
    const revision = refresh?.pinnedSnapRevision ?? Object.values(pinned.snap?.revisions ?? {})[0] ?? "101";
    await snapd.refresh(snapName, revision);
    if (refresh !== undefined) await refresh.updateSnapRevision();
  }
  const status = active();
  await run.tools.statusSet({ status: status.kind, message: status.message });
});
