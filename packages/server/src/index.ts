export { PROMOTE_USAGE, PromoteError, runPromote } from "./admin/promote.js";
export { type Config, ConfigError, configSummary, configWith, loadConfig } from "./config/config.js";
export { createLogger } from "./ops/logger.js";
export { type RunServerOptions, runServer } from "./run-server.js";
export { type ParleyServer, type StartOptions, startServer } from "./server.js";
