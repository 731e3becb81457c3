export { type Config, configWith, loadConfig } from "./config/config.js";
export { createLogger } from "./ops/logger.js";
export { type ParleyServer, type StartOptions, startServer } from "./server.js";
