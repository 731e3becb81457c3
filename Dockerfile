# syntax=docker/dockerfile:1
# Parley server image: `docker build -t parley .` from the repository root.
# Not built on the project's machines (they have no container engine); see docs/OPERATIONS.md.

# ---- build: every dependency, then the TypeScript build and the browser client ----
FROM node:20-bookworm-slim AS build
WORKDIR /src
# argon2 and better-sqlite3 fall back to compiling when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Manifests first, so the dependency layer is reused until a manifest changes.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/crypto/package.json packages/crypto/
COPY packages/client/package.json packages/client/
COPY packages/server/package.json packages/server/
COPY packages/cli/package.json packages/cli/
COPY packages/web/package.json packages/web/
# `npm install`, not `npm ci`: the lock lists only one platform's optional packages, which
# `npm ci` rejects (see .ci/run). It still follows package-lock.json.
RUN npm install --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages ./packages
RUN npm run build

# ---- production dependencies only (the npm ci --omit=dev step, for a workspace) ----
FROM build AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled code, production node_modules, no compiler, not root ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8443 \
    PARLEY_DATA_DIR=/data \
    PARLEY_MDNS=off
WORKDIR /app
COPY --from=prod-deps /src/package.json ./
COPY --from=prod-deps /src/node_modules ./node_modules
# The workspace links in node_modules/@parley point here: manifests and build output only.
COPY --from=build /src/packages/protocol/package.json packages/protocol/
COPY --from=build /src/packages/protocol/dist packages/protocol/dist
COPY --from=build /src/packages/crypto/package.json packages/crypto/
COPY --from=build /src/packages/crypto/dist packages/crypto/dist
COPY --from=build /src/packages/server/package.json packages/server/
COPY --from=build /src/packages/server/dist packages/server/dist
COPY --from=build /src/packages/web/dist packages/web/dist
# The image's own user (uid 1000), owner of the data dir: keys and the JWT secret live there.
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
USER node
VOLUME ["/data"]
EXPOSE 8443
# Liveness only (/healthz answers while the process runs); load balancers use /readyz. The
# probe stays on loopback, where skipping certificate checks exposes nothing. With PARLEY_TLS=off
# use http instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('node:https').get({host:'127.0.0.1',port:process.env.PARLEY_PORT,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
CMD ["node", "packages/server/dist/main.js"]
