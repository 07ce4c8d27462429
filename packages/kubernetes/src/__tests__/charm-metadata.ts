/**
 * The Kubernetes test charm's `metadata.yaml`, shared by the class-level world (`world.ts`) and
 * the simulator worlds (`sim-world.ts`) so both describe the same charm.
 */

/** The workload image the test charm pins, without a digest. */
export const IMAGE = "registry.example/db-image";

/** `metadata.yaml` of the test charm: one `database` container whose image is pinned at `pinDigest`, and the refresh peer relation. */
export function testCharmMetadata(pinDigest: string): string {
  return [
    "name: db",
    "containers:",
    "  database:",
    "    resource: db-image",
    "resources:",
    "  db-image:",
    "    type: oci-image",
    `    upstream-source: ${IMAGE}@${pinDigest}`,
    "peers:",
    "  refresh-v-three:",
    "    interface: refresh",
  ].join("\n");
}
