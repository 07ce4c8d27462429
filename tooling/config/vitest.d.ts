import type { TestProjectInlineConfiguration, UserWorkspaceConfig } from "vitest/config";
export declare function packageProject(test?: TestProjectInlineConfiguration["test"]): UserWorkspaceConfig;
