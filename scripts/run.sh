#!/usr/bin/env bash
# The run command of README.md.
# With real DISCORD_TOKEN and MIDTRANS_SERVER_KEY (in the environment or in .env) it runs both
# services against Discord and Midtrans. Without them it runs the offline demo (scripts/demo.sh):
# the Midtrans simulator and the fake Discord stand in, so the whole system can be tried here.
set -euo pipefail
cd "$(dirname "$0")/.."

value_of() {
  local name=$1
  if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
  [ -f .env ] && sed -n "s/^${name}=//p" .env | tail -n1 | tr -d '"' || true
}

if [ -z "$(value_of DISCORD_TOKEN)" ] || [ -z "$(value_of MIDTRANS_SERVER_KEY)" ]; then
  echo "DISCORD_TOKEN or MIDTRANS_SERVER_KEY is not set: running the offline demo (see README, 'Try it offline')."
  exec scripts/demo.sh
fi

scripts/ensure-services.sh
cargo build --release --locked -p payment-service -p bot-service
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM
target/release/payment-service & pids+=($!)
# The bot's requests wait for the payment-service's consumers; give it a moment to declare them.
sleep 2
target/release/bot-service & pids+=($!)
echo "payment-service (webhook on :${WEBHOOK_PORT:-8001}) and bot-service are running; Ctrl-C stops both."
wait -n
