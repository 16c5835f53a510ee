#!/usr/bin/env bash
# Try the whole shop offline, before you have a Discord token or Midtrans keys: runs the Midtrans
# simulator, the fake Discord, payment-service (SQLite in a temporary directory) and bot-service
# with generated secrets, then shows how to play a Discord user with curl. Ctrl-C stops it all.
#
# Needs RabbitMQ (started here if it is down), curl and jq. Ports (override with the variables):
#   DEMO_SIM_PORT 8190 (Midtrans simulator)   DEMO_DISCORD_PORT 8191 (fake Discord REST)
#   DEMO_GATEWAY_PORT 8192 (fake gateway)     DEMO_CONTROL_PORT 8193 (fake Discord control API)
#   DEMO_WEBHOOK_PORT 8101 (payment-service)  DEMO_HEALTH_PORT 8102 (bot-service health)
#   DEMO_INTERNAL_PORT 8103 (payment-service /metrics, /readyz)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

sim_port=${DEMO_SIM_PORT:-8190}
discord_port=${DEMO_DISCORD_PORT:-8191}
gateway_port=${DEMO_GATEWAY_PORT:-8192}
control_port=${DEMO_CONTROL_PORT:-8193}
webhook_port=${DEMO_WEBHOOK_PORT:-8101}
health_port=${DEMO_HEALTH_PORT:-8102}
internal_port=${DEMO_INTERNAL_PORT:-8103}

guild_id=1100000000000000100
public_channel_id=1100000000000000201
alert_channel_id=1100000000000000202
stock_channel_id=1100000000000000203
buylog_channel_id=1100000000000000204
admin_role_id=1100000000000000300

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "demo.sh needs $tool (apt-get install $tool)" >&2; exit 1; }
done

amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
# The demo keeps its data in SQLite, so only RabbitMQ must be up; ensure-services starts both.
scripts/ensure-services.sh || amqp_up || { echo "RabbitMQ is not reachable on 127.0.0.1:5672" >&2; exit 1; }

profile_flag=()
profile_dir=debug
if [ "${DEMO_RELEASE:-0}" = 1 ]; then profile_flag=(--release); profile_dir=release; fi
echo "== building the services (first time takes a few minutes)"
cargo build "${profile_flag[@]}" -p midtrans-simulator -p fake-discord -p payment-service -p bot-service --bins
target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
bin="$target_dir/$profile_dir"

demo_dir=$(mktemp -d /tmp/redfinger-demo.XXXXXX)
random() { head -c "$1" /dev/urandom | base64 | tr -d '/+=\n' | head -c "$2"; }
server_key="SB-Mid-server-demo-$(random 24 24)"
encryption_key=$(head -c 32 /dev/urandom | base64)
claim_secret=$(random 32 40)
namespace="redfinger_demo_$(random 8 8 | tr 'A-Z' 'a-z')"

pids=()
stop_all() {
  trap - EXIT INT TERM
  echo
  echo "== stopping the demo"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "logs and the SQLite database are in $demo_dir"
  exit 0
}
trap stop_all EXIT INT TERM

# Each service runs in the demo directory, so no .env of this checkout is read.
start() {
  local name=$1; shift
  (cd "$demo_dir" && exec env "$@") >"$demo_dir/$name.log" 2>&1 &
  pids+=("$!")
  echo "   $name (pid $!, log $demo_dir/$name.log)"
}

wait_http() {
  local what=$1 url=$2
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "$what did not come up ($url); see $demo_dir/*.log" >&2
  exit 1
}

echo "== starting (demo directory $demo_dir)"
start midtrans-simulator \
  MIDTRANS_SERVER_KEY="$server_key" SIMULATOR_BIND="127.0.0.1:$sim_port" \
  "$bin/midtrans-simulator"
start fake-discord \
  FAKE_DISCORD_BIND="127.0.0.1:$discord_port" FAKE_DISCORD_GATEWAY_BIND="127.0.0.1:$gateway_port" \
  FAKE_DISCORD_CONTROL_BIND="127.0.0.1:$control_port" FAKE_DISCORD_GUILD_ID="$guild_id" \
  FAKE_DISCORD_EXTRA_CHANNEL_IDS="$public_channel_id,$alert_channel_id,$stock_channel_id,$buylog_channel_id" \
  FAKE_DISCORD_ROLES="$admin_role_id:Admin" \
  "$bin/fake-discord"
wait_http "the Midtrans simulator" "http://127.0.0.1:$sim_port/_sim/health"
wait_http "the fake Discord" "http://127.0.0.1:$control_port/_fake/interactions"

start payment-service \
  DATABASE_URL="sqlite://$demo_dir/redfinger.db?mode=rwc" \
  AMQP_NAMESPACE="$namespace" \
  WEBHOOK_HOST=127.0.0.1 WEBHOOK_PORT="$webhook_port" INTERNAL_HTTP_PORT="$internal_port" \
  WEBHOOK_URL="http://127.0.0.1:$webhook_port/webhook/midtrans" \
  MIDTRANS_SERVER_KEY="$server_key" MIDTRANS_API_BASE_URL="http://127.0.0.1:$sim_port" \
  ENCRYPTION_KEY="$encryption_key" ADMIN_CLAIM_SECRET="$claim_secret" \
  DISCORD_GUILD_ID="$guild_id" ORDER_COOLDOWN_SECONDS=0 \
  "$bin/payment-service"
start bot-service \
  DISCORD_TOKEN=demo-token DISCORD_API_BASE_URL="http://127.0.0.1:$discord_port" \
  DISCORD_GUILD_ID="$guild_id" PUBLIC_CHANNEL_ID="$public_channel_id" \
  ALERT_CHANNEL_ID="$alert_channel_id" \
  STOCK_CHANNEL_ID="$stock_channel_id" STOCK_PANEL_INTERVAL_SECS=2 \
  BUYLOG_CHANNEL_ID="$buylog_channel_id" \
  AMQP_NAMESPACE="$namespace" ADMIN_CLAIM_SECRET="$claim_secret" \
  BOT_HEALTH_PORT="$health_port" \
  "$bin/bot-service"
wait_http "payment-service" "http://127.0.0.1:$internal_port/readyz"
wait_http "bot-service" "http://127.0.0.1:$health_port/readyz"

# Shell functions that play a Discord user through the fake's control API.
cat >"$demo_dir/play.sh" <<PLAY
# Source me: . $demo_dir/play.sh   — then: slash shop; click "Top up"; …
CONTROL=http://127.0.0.1:$control_port
SIM=http://127.0.0.1:$sim_port
USER_ID=\${USER_ID:-1200000000000000001}
USERNAME=\${USERNAME:-demo-buyer}
ADMIN_ID=1200000000000000900
ADMIN_ROLE_ID=$admin_role_id
GUILD_ID=$guild_id
STOCK_CHANNEL_ID=$stock_channel_id
BUYLOG_CHANNEL_ID=$buylog_channel_id

_post() { curl -sS -X POST "\$CONTROL\$1" -H 'content-type: application/json' -d "\$2"; echo; }
_messages() { curl -sS "\$CONTROL/_fake/messages?user_id=\$USER_ID"; }

# show [n]: the last n messages this user can see (DMs, ephemeral answers, private threads).
show() {
  sleep "\${WAIT:-1.5}"
  _messages | jq -r --argjson n "\${1:-2}" '.[-\$n:][] |
    "── [\(.kind)] message \(.id)\n\(.text)" +
    (if (.buttons | length) > 0 then "\n   buttons: " + ([.buttons[] | "[" + .label + "]" + (if .disabled then "(disabled)" else "" end)] | join(" ")) else "" end) +
    (if (.selects | length) > 0 then "\n   menu: " + ([.selects[].options[].label] | join(" | ")) else "" end) +
    (if (.files | length) > 0 then "\n   files: " + ([.files[].filename] | join(", ")) else "" end)'
}

# slash NAME [OPTIONS_JSON]: use a slash command, e.g. slash topup '[{"name":"amount","value":"50000"}]'
slash() { _post /_fake/slash "{\"user_id\":\"\$USER_ID\",\"username\":\"\$USERNAME\",\"roles\":\${ROLES:-[]},\"name\":\"\$1\",\"options\":\${2:-[]}}" >/dev/null; show; }

# click LABEL: click the button with that label on the newest message that has one.
click() {
  local target
  target=\$(_messages | jq -c --arg l "\$1" '[.[] | select(any(.buttons[]; .label == \$l and (.disabled | not)))] | last | select(. != null) | {message_id: .id, custom_id: ([.buttons[] | select(.label == \$l)][0].custom_id)}')
  [ -n "\$target" ] || { echo "no button [\$1] on screen"; return 1; }
  _post /_fake/click "\$(jq -c --arg u "\$USER_ID" '. + {user_id: \$u}' <<<"\$target")" >/dev/null; show
}

# pick LABEL: choose the menu option whose label starts with LABEL (e.g. pick "5 codes").
pick() {
  local target
  target=\$(_messages | jq -c --arg l "\$1" '[.[] | select(any(.selects[].options[]; .label | startswith(\$l)))] | last | select(. != null) | {message_id: .id, custom_id: .selects[0].custom_id, values: [[.selects[0].options[] | select(.label | startswith(\$l))][0].value]}')
  [ -n "\$target" ] || { echo "no menu option \$1 on screen"; return 1; }
  _post /_fake/select "\$(jq -c --arg u "\$USER_ID" '. + {user_id: \$u}' <<<"\$target")" >/dev/null; show
}

# pay: the customer pays the newest QR shown to this user (the simulator settles and notifies).
pay() {
  local order
  order=\$(_messages | jq -r '[.[].text | capture("Top-up (?<id>ORDER-[0-9A-Za-z-]+)").id] | last // empty')
  [ -n "\$order" ] || { echo "no top-up QR on screen"; return 1; }
  curl -sS -X POST "\$SIM/_sim/transactions/\$order/pay" | jq -c '{order_id: .transaction.order_id, transaction_status: (.transaction.transaction_status // .transaction_status), webhook_answered: [.deliveries[]?.http_status?], error}'
  WAIT=3 show 1
}

# addstock [N] [PRODUCT_ID]: the admin uploads N generated codes as a .txt file (default 20) to a
# product (default: the first product, "Redfinger"; ids are shown by "products").
addstock() {
  local codes product
  codes=\$(for i in \$(seq 1 "\${1:-20}"); do printf 'DEMO-%s-%s-%03d\n' "\${2:-1}" "\$(date +%s)" "\$i"; done)
  product=\$(jq -cn --arg p "\${2:-}" 'if \$p == "" then [] else [{name: "product", value: (\$p | tonumber)}] end')
  USER_ID=\$ADMIN_ID USERNAME=demo-admin ROLES="[\"\$ADMIN_ROLE_ID\"]" slash admin "\$(jq -cn --arg c "\$codes" --argjson p "\$product" '[{name: "addstock", options: ([{name: "file", attachment: {filename: "codes.txt", content: \$c}}] + \$p)}]')"
}

# addproduct NAME PRICES [DESCRIPTION]: the admin adds a product, e.g.
#   addproduct "VIP 30 hari" "1=20000,5=95000" "Redfinger VIP, 30 days"
addproduct() {
  [ -n "\${2:-}" ] || { echo 'usage: addproduct NAME PRICES [DESCRIPTION]   e.g. addproduct "VIP 30 hari" "1=20000,5=95000"'; return 1; }
  USER_ID=\$ADMIN_ID USERNAME=demo-admin ROLES="[\"\$ADMIN_ROLE_ID\"]" slash admin "\$(jq -cn --arg n "\$1" --arg p "\$2" --arg d "\${3:-}" '[{name: "product", options: [{name: "add", options: ([{name: "name", value: \$n}, {name: "prices", value: \$p}] + (if \$d == "" then [] else [{name: "description", value: \$d}] end))}]}]')"
}

# products: the catalogue as the admin sees it (/admin product list: ids, prices, stock).
products() { USER_ID=\$ADMIN_ID USERNAME=demo-admin ROLES="[\"\$ADMIN_ROLE_ID\"]" slash admin '[{"name":"product","options":[{"name":"list"}]}]'; }

# price PRODUCT_ID CODES RUPIAH: the admin changes a package's price (effective at once).
price() {
  [ -n "\${3:-}" ] || { echo 'usage: price PRODUCT_ID CODES RUPIAH   e.g. price 2 1 22000'; return 1; }
  USER_ID=\$ADMIN_ID USERNAME=demo-admin ROLES="[\"\$ADMIN_ROLE_ID\"]" slash admin "\$(jq -cn --arg id "\$1" --arg c "\$2" --arg r "\$3" '[{name: "product", options: [{name: "price", options: [{name: "product", value: (\$id | tonumber)}, {name: "package", value: ({"1": 0, "5": 1, "10": 2, "25": 3, "50": 4}[\$c] // error("a package is 1, 5, 10, 25 or 50 codes"))}, {name: "price", value: (\$r | tonumber)}]}]}]')"
}

# panel / buylog: what everyone sees in the stock channel (the live stock message) and the buy log.
_channel() { sleep "\${WAIT:-1.5}"; curl -sS "\$CONTROL/_fake/channels/\$1/messages" | jq -r '.[-3:][] | "── message \(.id)\n\(.text)"'; }
panel() { WAIT=\${WAIT:-2.5} _channel "\$STOCK_CHANNEL_ID"; }
buylog() { _channel "\$BUYLOG_CHANNEL_ID"; }

# closedms / opendms: the user closes or opens their DMs (codes then come privately in the server).
closedms() { _post "/_fake/close-dms/\$USER_ID" '{}'; }
opendms() { _post "/_fake/open-dms/\$USER_ID" '{}'; }

# locale [USER] CODE: the language of a user's Discord client (this user, "admin" or an id), one of
# Discord's locales: locale id (Indonesian), locale en-US (English, the default). The bot answers in it.
# guildlocale CODE: the guild's preferred language (interactions carry it as guild_locale).
locale() {
  local user=\$USER_ID
  if [ \$# -ge 2 ]; then
    case \$1 in admin) user=\$ADMIN_ID ;; *) user=\$1 ;; esac
    shift
  fi
  [ -n "\${1:-}" ] || { echo "usage: locale [USER] CODE   e.g. locale id"; return 1; }
  _post "/_fake/users/\$user/locale" "\$(jq -cn --arg l "\$1" '{locale: \$l}')"
}
guildlocale() {
  [ -n "\${1:-}" ] || { echo "usage: guildlocale CODE   e.g. guildlocale id"; return 1; }
  _post "/_fake/guilds/\$GUILD_ID/locale" "\$(jq -cn --arg l "\$1" '{locale: \$l}')"
}

# latency: every interaction so far and how fast the bot answered (Discord allows 3 s).
latency() { curl -sS "\$CONTROL/_fake/interactions" | jq -r '.[] | "\(.kind)\t\(.latency_ms) ms\tfailed=\(.failed)"'; }
PLAY

cat <<EOF

== Redfinger Shop is running offline
   Midtrans simulator  http://127.0.0.1:$sim_port        (transactions: curl -s http://127.0.0.1:$sim_port/_sim/transactions | jq)
   fake Discord        http://127.0.0.1:$discord_port   control API http://127.0.0.1:$control_port
   payment-service     http://127.0.0.1:$internal_port/readyz   metrics /metrics (webhook on :$webhook_port)
   bot-service         http://127.0.0.1:$health_port/readyz
   database            $demo_dir/redfinger.db (sqlite3 $demo_dir/redfinger.db 'select * from users')

In another terminal, play a user (each step shows what the bot answered):

   . $demo_dir/play.sh
   addstock                 # an admin uploads 20 codes with /admin addstock (a .txt file)
   panel                    # the live stock message in the stock channel
   addproduct "VIP 30 hari" "1=20000,5=95000"   # a second product, priced from Discord
   addstock 6 2             # 6 codes of product 2 (ids: products)
   panel                    # both products, edited in place
   slash shop               # the main menu
   click "Top up"
   click "Rp 100.000"       # a QRIS charge at the simulator; the QR is shown
   pay                      # the customer pays: the webhook credits, the bot DMs you
   slash balance
   slash shop
   click "Order codes"
   pick "Redfinger"         # with two products on sale the shop asks which first
   pick "5 codes"
   click "Confirm"          # Rp 70.000 is charged; the codes arrive by DM
   show 2
   buylog                   # "a buyer bought 5 × Redfinger": never a code, never a name
   slash history            # your orders; pick one to see its codes again (or get them by DM)
   closedms                 # then order again: the codes come privately in the server
   locale id                # your Discord client now speaks Indonesian: slash shop answers in it (locale en-US: back)
   latency                  # every interaction was answered within Discord's 3 s

The same with plain curl (ids come from the messages endpoint):

   curl -s -XPOST http://127.0.0.1:$control_port/_fake/slash -H 'content-type: application/json' \\
        -d '{"user_id":"1200000000000000001","username":"demo-buyer","name":"shop"}'
   curl -s 'http://127.0.0.1:$control_port/_fake/messages?user_id=1200000000000000001' | jq
   curl -s -XPOST http://127.0.0.1:$control_port/_fake/click -H 'content-type: application/json' \\
        -d '{"user_id":"1200000000000000001","message_id":"<id>","custom_id":"<custom_id of a button>"}'
   curl -s -XPOST http://127.0.0.1:$control_port/_fake/select -H 'content-type: application/json' \\
        -d '{"user_id":"1200000000000000001","message_id":"<id>","custom_id":"<custom_id>","values":["5"]}'
   curl -s -XPOST http://127.0.0.1:$sim_port/_sim/transactions/<ORDER-…>/pay

Ctrl-C stops everything.
EOF

# Stop when any service ends on its own, or on Ctrl-C.
wait -n "${pids[@]}" || true
echo "a service stopped; see the logs in $demo_dir" >&2
