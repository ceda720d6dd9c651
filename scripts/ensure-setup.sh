#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than package-lock.json, and
# bubblewrap (the verification sandbox's isolation) when it is missing: as root with apt-get,
# otherwise it says what to install. As root with apt-get it also installs Debian's chromium
# when it is missing, for the Web UI browser test (test/web-ui.test.ts skips without it).
# (The Temporal CLI is found or built by the code that starts it: local/temporal-cli.ts.)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "aura: Node.js 20.3 or later is required (https://nodejs.org)" >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=3)?0:1)' || {
  echo "aura: Node.js 20.3 or later is required; this is $(node --version)" >&2
  exit 1
}

stamp=node_modules/.aura-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[aura] installing npm dependencies…"
  # Exactly what the lock file says (it lists every platform's optional binaries).
  npm ci --no-audit --no-fund
  sha256sum package-lock.json | cut -d' ' -f1 > "$stamp"
fi

if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[aura] installing bubblewrap (the verification sandbox runs generated code in it)…"
    if ! { apt-get install -y -qq bubblewrap >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; }; }; then
      echo "[aura] note: could not install bubblewrap; the sandbox will refuse to run generated code until it is installed" >&2
    fi
  else
    echo "[aura] note: bubblewrap (bwrap) is not installed: the verification sandbox will refuse to run generated code." >&2
    echo "[aura]       Install it, e.g. 'sudo apt-get install bubblewrap' (Debian/Ubuntu) or 'sudo dnf install bubblewrap'." >&2
  fi
fi

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[aura] installing chromium (the Web UI browser test drives it headless)…"
  if ! { apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; }; then
    echo "[aura] note: could not install chromium; the Web UI browser test will be skipped" >&2
  fi
fi

# dist/ (the compiled CLI, workers and Manager API) when it is missing or older than a source:
# about a second with esbuild. bin/aura runs the sources through tsx until then.
if ! node scripts/build.mjs --check; then
  node scripts/build.mjs
fi
