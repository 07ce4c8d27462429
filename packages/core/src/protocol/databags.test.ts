import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidDatabagContent } from "../errors.js";
import { REMOVE } from "./databag.js";
import { appDatabag, decodeAppDatabag } from "./databags.js";
import { decodeKubernetesUnitDatabag, kubernetesUnitDatabag } from "./kubernetes-databag.js";
import { decodeMachinesUnitDatabag, machinesUnitDatabag } from "./machines-databag.js";
import { AppKey, UnitKey } from "./names.js";
import { encodePythonJson, type JsonValue } from "./python-json.js";

interface CapturedWrite {
  readonly app: boolean;
  /** The stdin line exactly as the Python library passed it to relation-set. */
  readonly stdin: string;
  readonly changes: Record<string, string>;
}

/** Parses the captured `relation-set` calls of the Python library (see the fixture's header). */
function capturedWrites(): CapturedWrite[] {
  const text = readFileSync(new URL("./fixtures/python-v3-machines-databag-writes.txt", import.meta.url), "utf8");
  const lines = text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
  const writes: CapturedWrite[] = [];
  for (let index = 0; index < lines.length; index += 2) {
    const command = lines[index] ?? "";
    const stdin = (lines[index + 1] ?? "").trim();
    expect(command).toMatch(/^relation-set --relation \d+ --file -( --app)?$/);
    writes.push({ app: command.endsWith("--app"), stdin, changes: JSON.parse(stdin) as Record<string, string> });
  }
  return writes;
}

describe("interop with the Python library's databag writes", () => {
  const writes = capturedWrites();
  const unitRaw = Object.assign({}, ...writes.filter((write) => !write.app).map((write) => write.changes)) as Record<string, string>;
  const appRaw = Object.assign({}, ...writes.filter((write) => write.app).map((write) => write.changes)) as Record<string, string>;

  it("covers both databags", () => {
    expect(Object.keys(unitRaw).length).toBeGreaterThan(0);
    expect(Object.keys(appRaw).length).toBeGreaterThan(0);
  });

  it("decodes every captured unit value without problems", () => {
    const decoded = decodeMachinesUnitDatabag(unitRaw, "app/0");
    expect(decoded.problems).toEqual([]);
    expect(decoded.values).toEqual({
      refreshStarted: false,
      lastRefreshToUpToDateCharmCode: { charmRevision: "ch:amd64/noble/app-602", timeOfRefresh: 1795303552.7289605 },
      unusedLastCompletedRefresh: { charmRevision: "ch:amd64/noble/app-602", timeOfRefresh: 1795303552.7289605 },
    });
  });

  it("decodes every captured app value without problems", () => {
    const decoded = decodeAppDatabag(appRaw, "app");
    expect(decoded.problems).toEqual([]);
    expect(decoded.values).toEqual({
      originalWorkloadVersion: "16.4",
      originalWorkloadContainerVersion: "182",
      originalWorkloadMatchedPin: true,
      originalCharmVersion: "16/1.19.0",
      originalCharmRevision: "ch:amd64/noble/app-602",
    });
  });

  it("re-encodes every captured value byte for byte, and the relation-set payload too", () => {
    for (const write of writes) {
      const codec = write.app ? appDatabag : machinesUnitDatabag;
      const decoded = codec.decode(write.changes, write.app ? { app: "app" } : { unit: "app/0" });
      const [key, stored] = Object.entries(write.changes)[0] ?? [];
      const [name] = Object.entries(codec.fields).find(([, field]) => field.key === key) ?? [];
      expect(name, `no field for ${key}`).toBeDefined();
      const value = (decoded.values as Record<string, unknown>)[name as string];
      const reEncoded = (codec.encodeValue as (field: string, value: unknown) => string)(name as string, value);
      expect(reEncoded).toBe(stored);
      expect(encodePythonJson({ [key as string]: reEncoded })).toBe(write.stdin);
    }
  });

  it("plans no write when the databag already holds what the Python library wrote", () => {
    const decoded = decodeAppDatabag(appRaw, "app");
    expect(appDatabag.planWrite(appRaw, decoded.values)).toEqual({});
  });
});

describe("decoding a unit databag", () => {
  const jujuKeys = { "private-address": "10.1.2.3", "ingress-address": "10.1.2.3", "egress-subnets": "10.1.2.3/32" };

  it("never decodes Juju's own keys and tolerates keys it does not know", () => {
    const decoded = decodeKubernetesUnitDatabag(
      { ...jujuKeys, some_future_key: "{not json", [UnitKey.pauseAfterUnitRefreshConfig]: '"all"' },
      "db/1",
    );
    expect(decoded.problems).toEqual([]);
    expect(decoded.values).toEqual({ pauseAfterUnitRefreshConfig: "all" });
  });

  it("reports a malformed value from another unit, names unit, key and expectation, and treats it as absent", () => {
    const decoded = decodeKubernetesUnitDatabag(
      {
        [UnitKey.refreshStartedIfAppControllerRevisionHashIn]: '"db-6c9b7d5f4"',
        [UnitKey.nextUnitAllowedToRefreshIfAppControllerRevisionHashEquals]: "db-6c9b7d5f4",
        [UnitKey.pauseAfterUnitRefreshConfig]: '"first"',
      },
      "db/2",
    );
    expect(decoded.values).toEqual({ pauseAfterUnitRefreshConfig: "first" });
    expect(decoded.problems).toHaveLength(2);
    const [wrongShape, notJson] = decoded.problems;
    expect(wrongShape).toBeInstanceOf(InvalidDatabagContent);
    expect(wrongShape?.code).toBe("INVALID_DATABAG_CONTENT");
    expect(wrongShape?.source).toEqual({ unit: "db/2" });
    expect(wrongShape?.key).toBe(UnitKey.refreshStartedIfAppControllerRevisionHashIn);
    expect(wrongShape?.message).toContain("db/2");
    expect(wrongShape?.message).toContain(UnitKey.refreshStartedIfAppControllerRevisionHashIn);
    expect(wrongShape?.message).toContain("list");
    expect(notJson?.key).toBe(UnitKey.nextUnitAllowedToRefreshIfAppControllerRevisionHashEquals);
    expect(decoded.invalid).toEqual(new Set(["refreshStartedForRevisions", "nextUnitAllowedForRevision"]));
  });

  it("treats a stored JSON null (not a deletion) as invalid where null is not allowed", () => {
    const decoded = decodeMachinesUnitDatabag({ [UnitKey.installedSnapRevision]: "null" }, "db/0");
    expect(decoded.values.installedSnapRevision).toBeUndefined();
    expect(decoded.problems.map((problem) => problem.key)).toEqual([UnitKey.installedSnapRevision]);
  });

  it("accepts a whole-number timestamp written without a decimal point", () => {
    const decoded = decodeMachinesUnitDatabag(
      { [UnitKey.lastRefreshToUpToDateCharmCodeVersion]: '{"charm_revision":"local:x-1","time_of_refresh":1727768259}' },
      "db/0",
    );
    expect(decoded.values.lastRefreshToUpToDateCharmCode).toEqual({ charmRevision: "local:x-1", timeOfRefresh: 1727768259 });
  });
});

describe("planning a databag write", () => {
  it("writes nothing when the stored value decodes to the wanted one, even if spelled differently", () => {
    const current = {
      [UnitKey.refreshStartedIfAppControllerRevisionHashIn]: '["a","b"]',
      [UnitKey.unusedTimestampDuringLastStopEventWherePartitionRaised]: "1727768259",
    };
    expect(
      kubernetesUnitDatabag.planWrite(current, { refreshStartedForRevisions: ["a", "b"], unusedStopEventPartitionRaisedAt: 1727768259 }),
    ).toEqual({});
  });

  it("writes only the changed keys, spelled as Python spells them", () => {
    const current = { [UnitKey.pauseAfterUnitRefreshConfig]: '"first"', [UnitKey.refreshStartedIfAppControllerRevisionHashIn]: '["a"]' };
    expect(
      kubernetesUnitDatabag.planWrite(current, {
        pauseAfterUnitRefreshConfig: "first",
        refreshStartedForRevisions: ["a", "b"],
        unusedStopEventPartitionRaisedAt: 1727768259,
      }),
    ).toEqual({
      [UnitKey.refreshStartedIfAppControllerRevisionHashIn]: '["a", "b"]',
      [UnitKey.unusedTimestampDuringLastStopEventWherePartitionRaised]: "1727768259.0",
    });
  });

  it("deletes with null only keys that exist, and never touches keys outside the protocol", () => {
    const current = { "private-address": "10.0.0.1", [UnitKey.podUidsOfUnitsThatAreTearingDown]: "[]" };
    expect(
      kubernetesUnitDatabag.planWrite(current, { tearingDownPodUids: REMOVE, refreshStartedForRevisions: REMOVE }),
    ).toEqual({ [UnitKey.podUidsOfUnitsThatAreTearingDown]: null });
  });

  it("overwrites a malformed stored value", () => {
    expect(machinesUnitDatabag.planWrite({ [UnitKey.installedSnapRevision]: "182" }, { installedSnapRevision: "182" })).toEqual({
      [UnitKey.installedSnapRevision]: '"182"',
    });
  });

  it("keeps a JSON null distinct from a deletion", () => {
    expect(appDatabag.planWrite({}, { originalWorkloadVersion: null })).toEqual({ [AppKey.originalWorkloadVersion]: "null" });
    expect(appDatabag.planWrite({ [AppKey.originalWorkloadVersion]: "null" }, { originalWorkloadVersion: REMOVE })).toEqual({
      [AppKey.originalWorkloadVersion]: null,
    });
  });
});

// Arbitrary typed views of each databag, for the round-trip properties.
const text = fc.string({ unit: "grapheme" });
const timestamp = fc.double({ noNaN: true, noDefaultInfinity: true });
const charmCodeRefresh = fc.record({ charmRevision: text, timeOfRefresh: timestamp }, { noNullPrototype: true });
const kubernetesView = fc.record(
  {
    pauseAfterUnitRefreshConfig: text,
    refreshStartedForRevisions: fc.array(text),
    nextUnitAllowedForRevision: text,
    tearingDownPodUids: fc.array(fc.uuid()),
    unusedStopEventPartitionRaisedAt: timestamp,
    unusedStopEventAppRevisionAsHighestUnit: text,
    unusedPodUidAfterRestartPartitionRaised: fc.uuid(),
  },
  { requiredKeys: [], noNullPrototype: true },
);
const machinesView = fc.record(
  {
    installedSnapRevision: text,
    nextUnitAllowedToRefresh: fc.boolean(),
    refreshStarted: fc.boolean(),
    lastRefreshToUpToDateCharmCode: charmCodeRefresh,
    unusedLastCompletedRefresh: charmCodeRefresh,
  },
  { requiredKeys: [], noNullPrototype: true },
);
const appView = fc.record(
  {
    refreshStartedForRevisions: fc.array(text),
    originalWorkloadVersion: fc.option(text, { nil: null }),
    originalWorkloadContainerVersion: text,
    originalWorkloadMatchedPin: fc.boolean(),
    originalCharmVersion: text,
    originalCharmRevision: text,
  },
  { requiredKeys: [], noNullPrototype: true },
);
const foreignKeys = fc.dictionary(
  fc.string().filter((key) => !key.includes("_") || key.startsWith("x")),
  fc.string(),
);

const cases = [
  ["Kubernetes unit", kubernetesUnitDatabag, kubernetesView],
  ["machine unit", machinesUnitDatabag, machinesView],
  ["application", appDatabag, appView],
] as const;

describe.each(cases)("%s databag round trip", (_name, codec, view) => {
  const anyCodec = codec as unknown as typeof appDatabag;
  const anyView = view as unknown as fc.Arbitrary<Record<string, JsonValue>>;

  it("decodes what it encoded, and leaves other keys alone", () => {
    fc.assert(
      fc.property(anyView, foreignKeys, (values, foreign) => {
        const written = anyCodec.planWrite({}, values);
        const stored = { ...foreign, ...written } as Record<string, string>;
        const decoded = anyCodec.decode(stored, { unit: "app/3" });
        expect(decoded.problems).toEqual([]);
        expect(decoded.values).toStrictEqual(values);
      }),
    );
  });

  it("needs no second write once the first is stored (steady state makes no relation-set)", () => {
    fc.assert(
      fc.property(anyView, anyView, (before, after) => {
        const stored = anyCodec.planWrite({}, before) as Record<string, string>;
        const changes = anyCodec.planWrite(stored, after);
        const next = { ...stored };
        for (const [key, value] of Object.entries(changes)) {
          if (value === null) delete next[key];
          else next[key] = value;
        }
        expect(anyCodec.planWrite(next, after)).toEqual({});
        expect(anyCodec.decode(next, { unit: "app/3" }).values).toStrictEqual({ ...before, ...after });
      }),
    );
  });
});
