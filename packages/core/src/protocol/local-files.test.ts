import { describe, expect, it } from "vitest";
import { LocalStateInvalid } from "../errors.js";
import { decodeTearingDownPodUidsFile, encodeTearingDownPodUidsFile } from "./kubernetes-databag.js";
import { pythonMtimeSeconds } from "./local-files.js";
import { decodeCharmCodeRefreshHistoryFile, encodeCharmCodeRefreshHistoryFile } from "./machines-databag.js";
import { LocalFile, localStatePath } from "./names.js";

describe("local state files", () => {
  it("writes the tearing-down pod list as the Python library pretty-prints it", () => {
    const text = encodeTearingDownPodUidsFile(["4f1c0a3e-1", "9b2d-2"]);
    expect(text).toBe('[\n    "4f1c0a3e-1",\n    "9b2d-2"\n]');
    expect(decodeTearingDownPodUidsFile(text)).toEqual(["4f1c0a3e-1", "9b2d-2"]);
  });

  it("round-trips the machine charm-code history, with and without a second entry", () => {
    const fresh = { last: { charmRevision: "ch:amd64/noble/app-602", timeOfRefresh: 1795303552.7289605 }, secondToLast: null };
    const text = encodeCharmCodeRefreshHistoryFile(fresh);
    expect(text).toBe(
      '{\n    "last_refresh_to_up_to_date_charm_code_version": {\n        "charm_revision": "ch:amd64/noble/app-602",\n' +
        '        "time_of_refresh": 1795303552.7289605\n    },\n    "second_to_last_refresh_to_up_to_date_charm_code_version": null\n}',
    );
    expect(decodeCharmCodeRefreshHistoryFile(text)).toEqual(fresh);
    const shifted = { last: { charmRevision: "ch:amd64/noble/app-613", timeOfRefresh: 1795400000 }, secondToLast: fresh.last };
    expect(decodeCharmCodeRefreshHistoryFile(encodeCharmCodeRefreshHistoryFile(shifted))).toEqual(shifted);
  });

  it("names the damaged file and how to recover", () => {
    expect(() => decodeCharmCodeRefreshHistoryFile('{"last_refresh_to_up_to_date_charm_code_version": 3}')).toThrow(LocalStateInvalid);
    let caught: unknown;
    try {
      decodeTearingDownPodUidsFile("not json");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LocalStateInvalid);
    expect((caught as LocalStateInvalid).path).toBe(localStatePath(LocalFile.kubernetesPodIdsOfUnitsThatAreTearingDown));
    expect((caught as LocalStateInvalid).message).toMatch(/Delete it/);
  });

  it("computes the mtime as Python's float seconds, not as mtimeMs / 1000", () => {
    // 1795303552.728960514 s: Python's st_mtime is sec + nsec * 1e-9 in double arithmetic.
    const mtimeNs = 1795303552728960514n;
    expect(pythonMtimeSeconds(mtimeNs)).toBe(1795303552 + 728960514 * 1e-9);
    expect(pythonMtimeSeconds(mtimeNs)).toBe(1795303552.7289605);
  });
});
