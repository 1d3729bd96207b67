#!/usr/bin/env bash
# Tools for the web console's browser tests (ctest -L browser), installed only when missing:
#   - Debian's `chromium` (Playwright's own browser download is not used: the tests launch
#     /usr/bin/chromium through executable_path);
#   - Playwright for Python from PyPI, in an ignored virtualenv (.cache/browser-venv), so the
#     system Python stays untouched.
# axe-core comes from web/node_modules (a devDependency in web/package-lock.json), which the
# console's build (cmake/console.cmake, `npm ci`) installs; this script installs it if absent.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the browser with fonts for legible screenshots, and kcat (the test writes a
# malformed record to the topic with it, to see it on the dead letters page).
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium fonts-liberation fonts-dejavu-core)
command -v kcat >/dev/null 2>&1 || packages+=(kcat)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

venv=.cache/browser-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import playwright.sync_api' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'playwright>=1.50,<2'
fi

if [ ! -f web/node_modules/axe-core/axe.min.js ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "browser test tools: $(chromium --version 2>/dev/null | head -1); playwright $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("playwright"))')"
