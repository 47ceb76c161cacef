/**
 * Image build and push (Kamal's `build` commands). What the deploy command
 * calls: detectCapabilities → resolveVersion → buildAndPush → pullOnHosts.
 */
export type { BuildSpec, BuilderSettings, BuildCapabilities, BuilderKind } from './spec.js';
export {
  BuilderView,
  builderView,
  isLocalRegistry,
  localRegistryPort,
  latestTag,
  versionedImage,
  latestImage,
  localDockerArch,
} from './spec.js';
export { planBuild, type BuildOptions, type BuildPlan } from './plan.js';
export {
  createBuilderScript,
  removeBuilderScript,
  inspectBuilderScript,
  detailsScript,
  scriptText,
  builderKind,
  type Script,
  type ScriptStep,
} from './builders.js';
export { runScript, ensureBuilder, createBuilder, removeBuilder } from './scripts.js';
export { detectCapabilities, type DetectedCapabilities } from './capabilities.js';
export { resolveVersion, abbreviatedVersion, type VersionInput } from './version.js';
export {
  clonePaths,
  prepareClone,
  cloneCommand,
  cloneResetCommands,
  type ClonePaths,
  type PreparedClone,
} from './clone.js';
export { runStreaming, redactor, type RunOptions, type RunResult } from './runner.js';
export { summarizeFailure, failureSentence, type FailureSummary } from './failure.js';
export {
  loginCommand,
  localRegistrySetupCommands,
  registryAnswers,
  type RegistryCredentials,
} from './registry.js';
export {
  planPull,
  pullOnHosts,
  remoteLoginStep,
  cleanStep,
  pullStep,
  validateImageStep,
  firstMirrorStep,
  stepText,
  registryForwardPort,
  type PullSpec,
  type RemoteStep,
  type RemoteExec,
  lastLine,
} from './pull.js';
export { buildAndPush, buildDev, type PushInput, type PushResult } from './push.js';
export { buildDetails } from './details.js';
export { argv, kamalText, displayText, type Command, type Word } from './words.js';
export {
  builderSettingsFromRaw,
  buildSpecFromConfig,
  buildInputsFromConfig,
  type BuildConfigInput,
  type BuildConfigLike,
  type BuildInputs,
} from './from-config.js';
export { pushPhase, pullPhase, deliverPhase, type PushPhaseDeps, type PullPhaseDeps } from './phases.js';
