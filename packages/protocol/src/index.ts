export * from "./common.js";
export * from "./display-text.js";
export * from "./errors.js";
export * from "./frames.js";
export * from "./http.js";
export * from "./lan.js";
export * from "./password-rules.js";
export * from "./version.js";
