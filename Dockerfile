# Synod node image. Runs `synod start --home /data` by default; mount a node home there
# (config.json, genesis.json, validator-key.json); its config.json must set http.host to
# 0.0.0.0 and p2p.listen to /ip4/0.0.0.0/tcp/26700 to be reachable from outside the container.
# Build: docker build -t synod .
FROM node:20-bookworm-slim

ENV NODE_ENV=production
# glibc malloc: two arenas; buffers up to 4 MB (a default block) from the heap, reused rather
# than mapped and faulted in afresh; at most 16 MB kept free at an arena's top (node/devnet.ts
# NODE_MALLOC_ENV; docs/configuration.md).
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_TRIM_THRESHOLD_=16777216
WORKDIR /opt/synod

# Dependencies first, so source changes reuse this layer. esbuild (and tsx, the fallback) are
# runtime dependencies: the node runs its TypeScript sources transpiled (bin/build.js).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY crypto ./crypto
COPY genesis ./genesis
COPY ledger ./ledger
COPY consensus ./consensus
COPY rpc ./rpc
COPY node ./node
COPY explorer ./explorer
COPY tsconfig.json ./
# Transpile now, as root, into /opt/synod/.build/<hash>/: the synod user cannot write here, and
# bin/synod.js finds this build (same sources, same hash) at every start.
RUN node -e "import('./bin/build.js').then((m) => console.log(m.ensureNodeBuild()))"

# An unprivileged user owns the data folder.
RUN useradd --system --create-home --home-dir /home/synod synod \
  && mkdir -p /data && chown synod:synod /data
USER synod
VOLUME ["/data"]

# HTTP (JSON-RPC, WebSocket, explorer, /health, /metrics) and libp2p.
EXPOSE 26600 26700

HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:26600/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

ENTRYPOINT ["node", "bin/synod.js"]
CMD ["start", "--home", "/data"]
