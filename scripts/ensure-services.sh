#!/usr/bin/env bash
# Starts PostgreSQL and RabbitMQ on this machine when they are not answering.
# On a machine with a Docker engine you can instead run `docker compose up -d postgres rabbitmq`.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  else
    echo "PostgreSQL is not running and pg_ctlcluster is not installed (apt-get install postgresql)" >&2
  fi
  for _ in $(seq 1 60); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi

if ! amqp_up; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached || true
  else
    echo "RabbitMQ is not running and rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2
  fi
  for _ in $(seq 1 90); do amqp_up && break; sleep 1; done
  amqp_up || { echo "RabbitMQ did not come up on 127.0.0.1:5672" >&2; exit 1; }
  # The port opens before the broker accepts logins; wait until it is fully booted.
  command -v rabbitmqctl >/dev/null 2>&1 && rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
# RabbitMQ 3.10 reserves file handles per quorum queue and per connection from a budget derived
# from its ulimit (~900 handles at `ulimit -n 1024`); when the budget is spent it keeps accepting
# TCP but never answers the AMQP handshake. Tests create and delete many quorum queues in
# parallel, so raise the budget (it is bookkeeping; the process's real descriptors stay few).
if command -v rabbitmqctl >/dev/null 2>&1; then
  timeout 60 rabbitmqctl -q eval 'file_handle_cache:set_limit(60000).' >/dev/null 2>&1 || true
fi
echo "PostgreSQL and RabbitMQ are up"
