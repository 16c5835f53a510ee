#!/usr/bin/env bash
# The benchmark suite of DESIGN.md §7 (not part of `cargo test`). Brings up PostgreSQL and
# RabbitMQ if needed, builds the release binaries, runs every stage and prints one table, which
# is also written to BENCHMARKS.md with a description of the machine.
#
#   scripts/bench.sh            full run (pgbench -T 30; a few minutes on 2 cores)
#   scripts/bench.sh --quick    ~10 s per stage, to try it out
#   scripts/bench.sh --only pgbench,rabbitmq   some stages (BENCHMARKS.md is then left alone)
#
# Knobs (environment): BENCH_SECONDS (pgbench -T), BENCH_STAGE_SECONDS, BENCH_LATENCY_SECONDS,
# BENCH_CONCURRENCY, BENCH_SERVICE_LOG_LEVEL, BENCH_PG_ADMIN_URL, BENCH_AMQP_URL.
# Settings of the services themselves (e.g. OUTBOX_POLL_INTERVAL_MS, DB_MAX_CONNECTIONS,
# AMQP_PREFETCH) are passed through from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-services.sh
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
echo "building release binaries (payment-service, bot-service, stand-ins, bench)…" >&2
cargo build --release -p payment-service -p midtrans-simulator -p bot-service -p fake-discord -p benchmarks >&2
exec "${CARGO_TARGET_DIR:-target}/release/bench" "$@"
