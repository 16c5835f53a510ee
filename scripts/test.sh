#!/usr/bin/env bash
# The test command of README.md: brings up PostgreSQL and RabbitMQ if needed, then runs every
# test of the workspace against them (each test makes its own database and broker namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-services.sh
exec cargo test --workspace --locked "$@"
