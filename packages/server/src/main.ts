#!/usr/bin/env node
import { runServer } from "./run-server.js";

/** `npm start` and the `parley-server` bin: the server with embedded defaults (run-server.ts). */
await runServer(process.argv.slice(2));
