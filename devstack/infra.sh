#!/usr/bin/env bash
# The local infrastructure: PostgreSQL, Redis and RabbitMQ on 127.0.0.1 (docs/design.md §4).
#   devstack/infra.sh check        check each server, start it when it is installed but down
#   devstack/infra.sh test-vhost   create the RabbitMQ vhost the tests use (default notifications_test)
set -euo pipefail

say() { printf 'infra: %s\n' "$*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 seconds=$2; shift 2
  for _ in $(seq 1 "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  say "$name did not come up within ${seconds}s"; return 1
}

compose_hint() {
  say "$1 is not running on 127.0.0.1 and is not installed here. Start it with:"
  say "  docker compose --env-file deploy/compose.dev.env -f deploy/docker-compose.yml up -d postgres redis rabbitmq"
  exit 1
}

check_postgres() {
  if port_open 5432; then say "postgres: up"; return; fi
  command -v pg_ctlcluster >/dev/null || compose_hint postgres
  say "postgres: down, starting"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  wait_for postgres 60 port_open 5432
}

check_redis() {
  if port_open 6379; then say "redis: up"; return; fi
  command -v redis-server >/dev/null || compose_hint redis
  say "redis: down, starting"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis 30 port_open 6379
}

RABBITMQCTL=${RABBITMQCTL:-rabbitmqctl}  # e.g. "docker exec <container> rabbitmqctl" when the broker is a container

check_rabbitmq() {
  if port_open 5672; then say "rabbitmq: up"; return; fi
  command -v rabbitmq-server >/dev/null || compose_hint rabbitmq
  if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    say "rabbitmq: down, starting"
    rabbitmq-server -detached || true
  else
    say "rabbitmq: node up but app stopped, starting it"
    $RABBITMQCTL start_app
  fi
  wait_for rabbitmq 120 rabbitmq-diagnostics -q ping
  wait_for rabbitmq-port 60 port_open 5672
}

vhost() {
  local name=${1:-notifications_test}
  if ! $RABBITMQCTL -q list_vhosts | grep -qx "$name"; then
    $RABBITMQCTL -q add_vhost "$name"
  fi
  $RABBITMQCTL -q set_permissions -p "$name" guest '.*' '.*' '.*'
  say "rabbitmq vhost $name: ready"
}

case "${1:-check}" in
  check) check_postgres; check_redis; check_rabbitmq ;;
  test-vhost) vhost "${2:-notifications_test}" ;;
  *) echo "usage: $0 check|test-vhost [NAME]" >&2; exit 2 ;;
esac
