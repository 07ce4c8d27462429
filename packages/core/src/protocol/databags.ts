import * as z from "zod/mini";
import { databagField, defineDatabag, type DatabagView, type DecodedDatabag } from "./databag.js";
import { stringList } from "./field-schemas.js";
import { AppKey } from "./names.js";

/** The application databag of the peer relation (both substrates; only the leader writes). */
export const appDatabag = defineDatabag({
  /** Every controller revision the refresh was started for (Kubernetes). */
  refreshStartedForRevisions: databagField(
    AppKey.refreshStartedIfAppControllerRevisionHashIn,
    stringList,
    "a JSON list of controller revision names",
  ),
  /** Pinned workload version of the original charm; null when the original workload did not match its pin. */
  originalWorkloadVersion: databagField(AppKey.originalWorkloadVersion, z.nullable(z.string()), "a JSON string or null"),
  /** Original OCI image digest (Kubernetes) or snap revision (machines). */
  originalWorkloadContainerVersion: databagField(
    AppKey.originalWorkloadContainerVersion,
    z.string(),
    "a JSON string (an image digest or snap revision)",
  ),
  /** Whether the original workload matched the original charm's pin. */
  originalWorkloadMatchedPin: databagField(
    AppKey.originalInstalledWorkloadContainerMatchedPinnedContainer,
    z.boolean(),
    "JSON true or false",
  ),
  /** Original charm version text. */
  originalCharmVersion: databagField(AppKey.originalCharmVersion, z.string(), "a JSON string (a charm version)"),
  /** Original raw `.juju-charm` content. */
  originalCharmRevision: databagField(AppKey.originalCharmRevision, z.string(), "a JSON string (a charm revision)"),
});

/** Field table of {@link appDatabag}. */
export type AppFields = typeof appDatabag.fields;

/** Typed view of the application databag. */
export type AppDatabag = DatabagView<AppFields>;

/** Decodes the application databag (from `relationGet`); problems are reported, never thrown. */
export function decodeAppDatabag(raw: Readonly<Record<string, string>>, app: string): DecodedDatabag<AppFields> {
  return appDatabag.decode(raw, { app });
}
