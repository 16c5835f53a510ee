#!/usr/bin/env bash
# Checks that docker-compose.yml parses and names the four services. Needs no Docker engine:
# Debian's docker-compose (v1) renders the file with `config`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "installing docker-compose (only the file checker is used; no engine needed)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null) \
    || { echo "could not install docker-compose" >&2; exit 1; }
fi
rendered=$(COMPOSE_FILE=docker-compose.yml docker-compose --env-file deploy/env.example config)
services=$(COMPOSE_FILE=docker-compose.yml docker-compose --env-file deploy/env.example config --services)
for s in rabbitmq postgres payment-service bot-service; do
  grep -qx "$s" <<<"$services" || { echo "docker-compose.yml lacks service $s" >&2; exit 1; }
done
grep -q "condition: service_healthy" <<<"$rendered" || { echo "no healthy-dependency conditions" >&2; exit 1; }
echo "docker-compose.yml parses; services: $(tr '\n' ' ' <<<"$services")"
