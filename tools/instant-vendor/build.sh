#!/bin/sh
# Rebuild static/instant/vendor/hpke.js from the versions pinned in package-lock.json.
# Needs node and npm (the npm registry only); run from anywhere. No CDN at run time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../src/caducee/server/static/instant/vendor"
cd "$here"
npm ci --no-audit --no-fund
mkdir -p "$out"
npx esbuild entry.js --bundle --format=esm --target=es2022 --minify \
  --legal-comments=none --outfile="$out/hpke.js"
for pkg in @hpke/core @hpke/common @hpke/dhkem-x25519 @hpke/hybridkem-x-wing mlkem; do
  version=$(node -p "require('./node_modules/$pkg/package.json').version")
  name=$(echo "$pkg" | tr -d @ | tr / -)
  cp "node_modules/$pkg/LICENSE" "$out/$name-$version.LICENSE"
done
sha256sum "$out/hpke.js"
