// Process mode: real `dispatch` processes with hook tools on PATH that talk to the simulator.
export { HookToolServer, HookToolServerError, type HookToolServerErrorCode, type HookToolCall, type HookToolServerOptions, type RegisterOptions } from "./server.js";
export { executeHookTool, isHookToolName, HOOK_TOOL_NAMES, type HookToolName, type HookToolScope, type UnitStatusesSource } from "./commands.js";
export {
  compiledHookToolClient,
  installHookToolBinDir,
  HookToolClientBuildError,
  HOOK_SYSTEM_PATH,
  type HookToolBinDir,
  type HookToolClient,
  type HookToolClientChoice,
  type InstallOptions,
} from "./client.js";
export { HOOK_TOOL_SOCKET_ENV, encodeRequest, type HookToolRequest, type HookToolResponse } from "./protocol.js";
export { buildJujuEnvironment, hookPath, InvalidJujuEnvironmentError, type JujuEnvironmentDescription } from "./environment.js";
export {
  runDispatch,
  createDispatcher,
  type DispatchResult,
  type RunDispatchOptions,
  type ProcessDispatchRequest,
  type ProcessDispatchOutcome,
} from "./dispatch.js";
