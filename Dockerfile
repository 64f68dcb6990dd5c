# syntax=docker/dockerfile:1
# ringmaster's image: the single executable on debian:bookworm-slim, as the ENTRYPOINT.
#
#   docker build -t ringmaster .
#   docker run --rm -v $PWD/ringmaster.yaml:/etc/ringmaster.yaml:ro ringmaster       # supervise a config
#   docker run --rm -it ringmaster -- bash                                           # tini-like, one command
#
# To add ringmaster to your own image (see compose-examples/):
#   COPY --from=ringmaster /usr/local/bin/ringmaster /usr/local/bin/ringmaster.node /usr/local/bin/
#   ENTRYPOINT ["/usr/local/bin/ringmaster"]

# --- build: addon (cc, c++ and node's headers), bundle (esbuild) and single executable (Node SEA) ---
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY native ./native
COPY src ./src
RUN npm run build

# --- runtime: nothing but the binary (it needs glibc, libstdc++ and libgcc_s: all in bookworm-slim) ---
FROM debian:bookworm-slim
# The addon is embedded in the binary and extracted to the temp dir at start; the copy beside the
# binary is used when the temp dir is noexec or read-only (read-only root, Kubernetes).
COPY --from=build /src/dist/ringmaster /src/dist/ringmaster.node /usr/local/bin/
ENV RINGMASTER_CONFIG=/etc/ringmaster.yaml
# NODE_OPTIONS set for your programs reaches them unchanged and does not affect ringmaster: the
# binary reads RM_NODE_OPTS instead (see prepareNodeBinary in scripts/build.mjs).
# Healthy when every autostarted program is RUNNING or finished as expected (asks /readyz on
# the control socket, /run/ringmaster.sock).
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/ringmaster", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ringmaster"]
