#!/usr/bin/env bash
# The unit tests and the end-to-end tests of the built action (__tests__/e2e, through dist/) again, on Node 24: GitHub runs
# `using: node20` actions on Node 24 now. Child processes of the tests (dist/main.js, dist/cli.js) use the
# same binary (process.execPath).
set -euo pipefail
cd "$(dirname "$0")/.."
node24=$(bash scripts/node24.sh)
echo "test-node24: $("$node24" --version)" >&2
"$node24" node_modules/vitest/vitest.mjs run --project unit
"$node24" node_modules/vitest/vitest.mjs run --project integration __tests__/e2e/
