import { packageProject } from "@refresh/config/vitest";

// Scenario tests spawn whole simulated models; two at a time keeps a 2-core CI machine responsive.
export default packageProject({ maxConcurrency: 2, testTimeout: 240_000 });
