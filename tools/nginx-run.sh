#!/usr/bin/env bash
# Start nginx as an ordinary user on loopback, serving a registry folder.
#   tools/nginx-run.sh start ROOT PREFIX PORT [UPSTREAM host:port] [WORKERS]
#   tools/nginx-run.sh stop PREFIX
# PREFIX is a scratch folder for the config, pid, logs and temp files.
# Prints nothing on success; the server answers on http://127.0.0.1:PORT/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
case "${1:-}" in
start)
  root=$(cd "$2" && pwd) prefix=$3 port=$4 upstream=${5:-127.0.0.1:9} workers=${6:-2}
  mkdir -p "$prefix"
  prefix=$(cd "$prefix" && pwd)
  userline=""
  [ "$(id -u)" = 0 ] && userline="user root;"
  sed -e "s|@USER@|$userline|g" -e "s|@ROOT@|$root|g" -e "s|@PREFIX@|$prefix|g" -e "s|@LISTEN@|127.0.0.1:$port|g" \
      -e "s|@UPSTREAM@|$upstream|g" -e "s|@WORKERS@|$workers|g" \
      "$here/deploy/nginx/registry.conf.in" > "$prefix/nginx.conf"
  "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" -q
  # Wait until it answers (at most ~5 s).
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then exit 0; fi
    sleep 0.1
  done
  echo "nginx did not start on 127.0.0.1:$port; see $prefix/error.log" >&2
  exit 1 ;;
stop)
  prefix=$2
  [ -f "$prefix/nginx.pid" ] && kill "$(cat "$prefix/nginx.pid")" 2>/dev/null || true
  for _ in $(seq 50); do [ -f "$prefix/nginx.pid" ] || exit 0; sleep 0.1; done ;;
*) sed -n 2,6p "$0" >&2; exit 2 ;;
esac
