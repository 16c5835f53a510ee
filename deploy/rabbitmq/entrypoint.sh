#!/bin/sh
# Starts RabbitMQ with one broker user per service, whose passwords come from the env file.
#
# RabbitMQ's definitions file cannot read environment variables, so this renders
# definitions.template.json into the file rabbitmq.conf loads, then hands over to the image's
# own entrypoint. Definitions are imported at every boot: changing a password in the env file
# and restarting the broker (then the services) rotates it.
#
# Permissions (see the template): each service may declare and read only its own queues
# ({ns}.payment.* or {ns}.bot.*) besides the shared exchanges; the payment-service publishes
# events and replies, the bot-service commands and delivery outcomes. Neither can consume,
# purge or delete the other's queues, and the bot cannot bind a queue to the commands exchange.
set -eu

fail() {
  echo "rabbitmq: $*" >&2
  exit 1
}

# A password goes into JSON and into AMQP_URL unescaped: hex or base64url only, and long.
check_password() {
  name=$1
  value=$2
  [ -n "$value" ] || fail "$name is not set (generate one with: openssl rand -hex 32)"
  case "$value" in
    *[!A-Za-z0-9_-]*) fail "$name may contain only letters, digits, '-' and '_' (openssl rand -hex 32)" ;;
  esac
  [ "${#value}" -ge 32 ] || fail "$name must be at least 32 characters (openssl rand -hex 32)"
  case "$value" in
    *change-me* | *changeme* | *replace*) fail "$name is still the example value" ;;
  esac
}

check_password RABBITMQ_PAYMENT_PASSWORD "${RABBITMQ_PAYMENT_PASSWORD:-}"
check_password RABBITMQ_BOT_PASSWORD "${RABBITMQ_BOT_PASSWORD:-}"
check_password RABBITMQ_ADMIN_PASSWORD "${RABBITMQ_ADMIN_PASSWORD:-}"
ns=${AMQP_NAMESPACE:-redfinger}
case "$ns" in
  "" | *[!a-z0-9_-]*) fail "AMQP_NAMESPACE may contain only a-z, 0-9, '-' and '_'" ;;
esac

template=/etc/rabbitmq/definitions.template.json
target=/var/lib/rabbitmq/definitions.json
umask 077
sed -e "s/@PAYMENT_PASSWORD@/$RABBITMQ_PAYMENT_PASSWORD/" \
    -e "s/@BOT_PASSWORD@/$RABBITMQ_BOT_PASSWORD/" \
    -e "s/@ADMIN_PASSWORD@/$RABBITMQ_ADMIN_PASSWORD/" \
    -e "s/@NS@/$ns/g" \
    "$template" >"$target"
chown rabbitmq:rabbitmq "$target" 2>/dev/null || true

exec docker-entrypoint.sh rabbitmq-server
