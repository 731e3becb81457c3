#!/usr/bin/env bash
# Makes sure what the test suite needs is on this machine: Debian packages and the local
# PostgreSQL and Redis services at 127.0.0.1 (DESIGN.md, "Rules for tests that touch the network").
# Idempotent; safe to run on a machine that already has everything.
set -euo pipefail

need_pkgs=()
for pair in "tmux:tmux" "chromium:chromium" "sslscan:sslscan" "faketime:faketime"; do
  bin=${pair%%:*}; pkg=${pair##*:}
  command -v "$bin" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ] && [ "$(id -u)" != 0 ]; then
  echo "ensure-services: missing Debian packages (${need_pkgs[*]}); run as root or install them: the tests that need them will fail"
elif [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "ensure-services: installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
if ! port_open 6379 && command -v redis-server >/dev/null 2>&1; then
  echo "ensure-services: starting Redis (no persistence)"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
for i in $(seq 1 30); do
  if port_open 5432 && port_open 6379; then break; fi
  sleep 1
done
port_open 5432 || echo "ensure-services: PostgreSQL is not reachable at 127.0.0.1:5432"
port_open 6379 || echo "ensure-services: Redis is not reachable at 127.0.0.1:6379"
