#!/usr/bin/env bash
# make up: the whole local stack in the foreground (docs/design.md §4). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
set -a; source deploy/dev.env; set +a

PORTS=("gateway:${GATEWAY_PORT:-8080}" "user_svc:${USER_SVC_PORT:-50051}" "template_svc:${TEMPLATE_SVC_PORT:-50052}"
       "email_worker:${EMAIL_WORKER_PORT:-2525}" "push_worker:${PUSH_WORKER_PORT:-8081}"
       "webhook_worker:${WEBHOOK_WORKER_PORT:-8082}"
       "inbound:${INBOUND_SMTP_PORT:-2526}" "inbound_http:${INBOUND_PORT:-8083}"
       "smtp_sink:${SMTP_SINK_PORT:-1025}" "smtp_sink_http:${SMTP_SINK_HTTP_PORT:-1080}"
       "smtp_sink_backup:${SMTP_SINK_BACKUP_PORT:-1026}" "smtp_sink_backup_http:${SMTP_SINK_BACKUP_HTTP_PORT:-1081}"
       "fcm_server:${FCM_SINK_PORT:-9099}"
       "webhook_receiver:${WEBHOOK_RECEIVER_PORT:-9098}"
       "user_svc_metrics:${USER_SVC_METRICS_PORT:-9151}" "template_svc_metrics:${TEMPLATE_SVC_METRICS_PORT:-9152}")
taken=()
for entry in "${PORTS[@]}"; do
  port=${entry##*:}
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then taken+=("$port (${entry%%:*})"); fi
done
if [ ${#taken[@]} -gt 0 ]; then
  echo "make up: these ports are already in use: ${taken[*]}"
  echo "Stop what holds them (is another 'make up' running?) or move a service with its *_PORT variable."
  exit 1
fi

mkdir -p .run/mail .run/webhooks
python -m user_svc migrate
python -m template_svc migrate
python -m gateway migrate
python -m devstack.sinks.fcm credentials "$GOOGLE_APPLICATION_CREDENTIALS" --url "$FCM_ENDPOINT"

honcho -f deploy/Procfile -d . start &
stack=$!
trap 'kill -INT "$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true; exit 0' INT TERM

python -m devstack.seed --wait 90 || { kill -INT "$stack"; wait "$stack" || true; exit 1; }
wait "$stack"
