#!/usr/bin/env bash
# Test-only assets from the npm registry, installed once under .tools/ (never committed, never
# fetched while tests run): axe-core, the accessibility rules engine of the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
AXE_VERSION=4.14.0
AXE=.tools/axe/node_modules/axe-core/axe.min.js
if [ -f "$AXE" ] && grep -q "axe v${AXE_VERSION}" "$AXE"; then
  exit 0
fi
mkdir -p .tools/axe
npm install --prefix .tools/axe --no-audit --no-fund --no-save --silent "axe-core@${AXE_VERSION}"
test -f "$AXE"
