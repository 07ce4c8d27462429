import { RefreshError } from "@refresh/core";
import { describe, expect, it } from "vitest";
import { KubernetesApiError } from "./errors.js";

describe("KubernetesApiError", () => {
  it("keeps the HTTP status, cause and resolution it was given", () => {
    const cause = new Error("socket hang up");
    const error = new KubernetesApiError("KUBERNETES_SERVER_ERROR", "the API server failed", { status: 503, cause, resolution: "wait" });
    expect(error).toBeInstanceOf(RefreshError);
    expect(error.code).toBe("KUBERNETES_SERVER_ERROR");
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
    expect(error.resolution).toBe("wait");
  });

  it("has no own cause when none was given, even as an explicit undefined", () => {
    const error = new KubernetesApiError("KUBERNETES_TIMEOUT", "the API server did not answer", { status: undefined, cause: undefined, resolution: undefined });
    // Node's inspection would otherwise print a misleading "[cause]: undefined".
    expect(Object.hasOwn(error, "cause")).toBe(false);
    expect(error.status).toBeUndefined();
    expect(error.resolution).toBeUndefined();
  });
});
