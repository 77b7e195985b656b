#!/bin/sh
# Type-check the JSDoc of static/instant/*.js with tsc (strict), against the @hpke types.
set -eu
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -p tsconfig.json
npx prettier --config .prettierrc.json --check ../../src/caducee/server/static/instant/*.js ../../tests/vectors/instant/*.js *.js
