export type { AddressClass } from "./classify-address.js";
export { classifyAddress } from "./classify-address.js";
export { type CapRefusal, ConnectionCaps } from "./connection-caps.js";
export type { SourceFilter, SourceFilterOptions } from "./source-filter.js";
export { createSourceFilter, parseCidrList } from "./source-filter.js";
