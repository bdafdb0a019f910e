// config: the configuration schema, presets and check-config
export type { CheckConfigOptions, CheckConfigResult } from './config/check.js';
export { checkConfigFile, listSecretReferences, secretProblems } from './config/check.js';
export type {
  Config,
  ConfigInput,
  InboundHeaders,
  InboundKey,
  InboundRule,
  LogLevel,
  NormalizeConfigOptions,
  StoreConfig,
  TenantConfig,
} from './config/gateway.js';
export { configSchema, GATEWAY_DEFAULTS } from './config/gateway.js';
export { configJsonSchema } from './config/json-schema.js';
export type { ConfigFormat, ParseConfigOptions } from './config/load.js';
export { loadConfig, normalizeConfig, parseConfig } from './config/load.js';
export type { ConfigPolicy, LimitScope, PolicyInput, UpstreamLimit, UpstreamLimitInput } from './config/policy.js';
export { policySchema, upstreamLimitSchema } from './config/policy.js';
export type { ConfigProblem } from './config/problems.js';
export { ConfigError, formatProblem, isConfigError } from './config/problems.js';
export type { UpstreamRoute } from './config/routes.js';
export { findMajorParameter, findRoute } from './config/routes.js';
export type { ResolveSecretOptions, SecretReference, SecretReferenceInput } from './config/secrets.js';
export { resolveSecret } from './config/secrets.js';
export type {
  NormalizeUpstreamOptions,
  UpstreamCredential,
  UpstreamEndpoint,
  UpstreamOptions,
  UpstreamRetryOptions,
} from './config/upstream.js';
export { normalizeUpstreamOptions, UPSTREAM_DEFAULTS } from './config/upstream.js';
export type { ClientOptionsInput, UpstreamOptionsInput } from './config/upstream-schema.js';
export { clientOptionsSchema, DEFAULT_CREDENTIAL, upstreamOptionsSchema } from './config/upstream-schema.js';
export { InvalidOptionError, SluiceError } from './errors.js';
// pipeline
export type { CallFailureReason } from './pipeline/errors.js';
export { CallFailedError, isCallFailed } from './pipeline/errors.js';
export type {
  Call,
  CallBody,
  CallHeaders,
  CallNotes,
  Cost,
  Next,
  Reply,
  ReplyHeaders,
  Stage,
} from './pipeline/stage.js';
export { composeStages } from './pipeline/stage.js';
export type { Preset, PresetName } from './presets/index.js';
export { PRESET_NAMES, PRESETS } from './presets/index.js';
export type { Clock, Duration, ManualClock, Scheduler } from './time.js';
export { createManualClock, parseDurationText, sleep, systemClock, toMilliseconds } from './time.js';
