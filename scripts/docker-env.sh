#!/usr/bin/env bash
# A Docker engine for ringmaster's tests (test/docker/), on a machine without systemd and without an
# image registry: Debian's dockerd started by hand on its own socket, and the base images the
# project's Dockerfiles name, made locally (debootstrap + docker import, and stand-ins built on it).
#
#   scripts/docker-env.sh up [--lease PID]     start the engine if it is not running, make the images;
#                                              prints `export DOCKER_HOST=…` lines (eval them)
#   scripts/docker-env.sh down [--lease PID]   drop PID's lease; the last lease stops the engine, if
#                                              this script started it
#   scripts/docker-env.sh env                  the export lines only (the engine must be up)
#
# Everything is cached under $RINGMASTER_DOCKER_CACHE (default /var/cache/ringmaster-docker): the
# engine's data root (images and build cache survive between runs and fresh clones), the Debian root
# file system tarball, the daemon's log. Runs of `up` and `down` are serialised with flock, and a
# lease per user (a pid; dead pids' leases are dropped) keeps one run from stopping the engine under
# another. An engine already answering on our socket is used as is and left running.
#
# Exit status: 0 ready; 3 the engine cannot run here (the reason on stderr: tests skip with it);
# anything else is a failure.
set -euo pipefail

CACHE=${RINGMASTER_DOCKER_CACHE:-/var/cache/ringmaster-docker}
RUN=$CACHE/run
SOCK=$RUN/docker.sock
PIDFILE=$RUN/dockerd.pid
STARTED=$RUN/started-by-docker-env   # present while the engine is one this script started
LEASES=$RUN/leases
LOG=$CACHE/dockerd.log
# Debian's client matches Debian's daemon; another `docker` earlier on PATH may be newer.
DOCKER=${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker || echo docker)}
export DOCKER_HOST=unix://$SOCK DOCKER_BUILDKIT=0
# Bumped when the way the images are made changes, so cached ones are made again.
RECIPE=3

say() { echo "docker-env: $*" >&2; }
cannot() { say "cannot run a Docker engine here: $*"; exit 3; }

cmd=${1:-up}; shift || true
lease=
while [ $# -gt 0 ]; do
  case $1 in
    --lease) lease=$2; shift 2 ;;
    *) say "unknown argument $1"; exit 2 ;;
  esac
done

exports() {
  echo "export DOCKER_HOST=$DOCKER_HOST"
  echo "export DOCKER=$DOCKER"
  echo "export DOCKER_BUILDKIT=0"
  echo "export COMPOSE_DOCKER_CLI_BUILD=0"
}

engine_up() { "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_engine() {
  [ "$(id -u)" = 0 ] || cannot "dockerd needs root (uid $(id -u))"
  command -v dockerd >/dev/null || cannot "dockerd is not installed (apt-get install docker.io)"
  mkdir -p "$RUN" "$CACHE/data" "$CACHE/exec"
  local driver=${RINGMASTER_DOCKER_STORAGE:-overlay2}
  say "starting dockerd ($driver, data root $CACHE/data, socket $SOCK)"
  rm -f "$SOCK"
  # Its own socket, data root, exec root and pidfile; no bridge, no iptables: containers get
  # --network=none or host, the tests only use loopback.
  setsid dockerd --host "unix://$SOCK" --data-root "$CACHE/data" --exec-root "$CACHE/exec" \
    --pidfile "$PIDFILE" --storage-driver "$driver" --iptables=false --ip-masq=false --bridge=none \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local pid=$! i
  touch "$STARTED"
  for i in $(seq 300); do
    engine_up && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$STARTED"
      tail -n 5 "$LOG" >&2
      cannot "dockerd exited at start (log: $LOG)"
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$STARTED"
  tail -n 5 "$LOG" >&2
  cannot "dockerd did not answer on $SOCK within 30 s (log: $LOG)"
}

stop_engine() {
  local pid i
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  rm -f "$STARTED"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  say "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "dockerd (pid $pid) still up after 20 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# The Debian mirror apt uses here (deb822 or one-line sources).
mirror() {
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1 || true)
  [ -n "$m" ] || m=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -n 1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

has_image() { [ "$("$DOCKER" image inspect --format '{{index .Config.Labels "org.ringmaster.recipe"}}' "$1" 2>/dev/null || true)" = "$2" ]; }

# debian:bookworm-slim: a minbase debootstrap (what the slim image is: essential packages + apt),
# caches and docs trimmed. The tarball is cached so a lost data root does not cost a debootstrap.
make_debian() {
  has_image debian:bookworm-slim "$RECIPE" && return 0
  local tar=$CACHE/debian-bookworm-minbase.tar
  if [ ! -s "$tar" ]; then
    command -v debootstrap >/dev/null || cannot "debootstrap is not installed (apt-get install debootstrap)"
    local root
    root=$(mktemp -d /var/tmp/rm-debian.XXXXXX)
    say "debootstrap --variant=minbase bookworm from $(mirror)"
    debootstrap --variant=minbase bookworm "$root" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -n 5 "$CACHE/debootstrap.log" >&2; rm -rf "$root"; say "debootstrap failed"; exit 1; }
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/*.log "$root"/var/log/apt/* \
      "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/tmp/*
    tar -C "$root" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    rm -rf "$root"
  fi
  "$DOCKER" import --change "LABEL org.ringmaster.recipe=$RECIPE" --change 'CMD ["bash"]' "$tar" debian:bookworm-slim >/dev/null
}

# A stand-in for node:20-bookworm (the Dockerfile's build stage): the base, C and C++ compilers, and this
# machine's node, npm and node headers (the addon is compiled against them), plus this machine's CA
# bundle so npm ci in the build reaches the registry exactly as npm does here.
make_node() {
  local version
  version=$(node --version)
  has_image node:20-bookworm "$RECIPE-$version" && return 0
  case $version in v20.*) ;; *) say "node $version is not Node 20: node:20-bookworm is made from it anyway" ;; esac
  local nodedir ctx
  nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  [ -f "$nodedir/include/node/node_api.h" ] || cannot "node's headers are not in $nodedir/include/node"
  ctx=$(mktemp -d /var/tmp/rm-node.XXXXXX)
  mkdir -p "$ctx/root/usr/local/bin" "$ctx/root/usr/local/include" "$ctx/root/usr/local/lib/node_modules" "$ctx/root/etc/ssl/certs"
  cp "$(readlink -f "$(command -v node)")" "$ctx/root/usr/local/bin/node"
  cp -r "$nodedir/include/node" "$ctx/root/usr/local/include/"
  cp -r "$nodedir/lib/node_modules/npm" "$ctx/root/usr/local/lib/node_modules/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/root/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/root/etc/ssl/certs/host-ca-certificates.crt"
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ libc6-dev ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY root/ /
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-certificates.crt
LABEL org.ringmaster.recipe=$RECIPE-$version
CMD ["node"]
EOF
  say "building the node:20-bookworm stand-in (node $version)"
  "$DOCKER" build -q --network=host -t node:20-bookworm "$ctx" >/dev/null
  rm -rf "$ctx"
}

# A stand-in for nginx:1.27-bookworm (compose-examples/nginx-app): Debian's nginx laid out as the
# official image is (conf.d/default.conf the only server, logs to stdout/stderr, STOPSIGNAL QUIT).
make_nginx() {
  has_image nginx:1.27-bookworm "$RECIPE" && return 0
  local ctx
  ctx=$(mktemp -d /var/tmp/rm-nginx.XXXXXX)
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light \\
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \\
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log \\
 && printf 'server {\n    listen 80;\n    location / { root /var/www/html; }\n}\n' >/etc/nginx/conf.d/default.conf
LABEL org.ringmaster.recipe=$RECIPE
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
EOF
  say "building the nginx:1.27-bookworm stand-in"
  "$DOCKER" build -q --network=host -t nginx:1.27-bookworm "$ctx" >/dev/null
  rm -rf "$ctx"
}

drop_dead_leases() {
  local f
  for f in "$LEASES"/*; do
    [ -e "$f" ] || continue
    kill -0 "${f##*/}" 2>/dev/null || rm -f "$f"
  done
}

mkdir -p "$CACHE" "$RUN" "$LEASES"
exec 9>"$CACHE/lock"
flock 9

case $cmd in
  up)
    [ -n "$lease" ] && touch "$LEASES/$lease"
    engine_up || start_engine
    t0=$(date +%s)
    make_debian
    make_node
    make_nginx
    [ $(( $(date +%s) - t0 )) -lt 2 ] || say "base images ready in $(( $(date +%s) - t0 )) s"
    exports
    ;;
  down)
    [ -n "$lease" ] && rm -f "$LEASES/$lease"
    drop_dead_leases
    if [ -e "$STARTED" ] && [ -z "$(ls -A "$LEASES")" ]; then stop_engine; fi
    ;;
  env)
    engine_up || { say "the engine is not up (scripts/docker-env.sh up)"; exit 1; }
    exports
    ;;
  *)
    say "usage: $0 up|down|env [--lease PID]"; exit 2 ;;
esac
