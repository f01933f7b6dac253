#!/usr/bin/env bash
# What `make test` needs from the system besides Python: Node.js 20+ with npm (the client and
# schema tools in clients/), and Debian's chromium and chromium-driver (the browser test of the
# playground). Installs the Debian packages when run as root on Debian (as CI does); otherwise
# says what is missing and how to install it.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v npm >/dev/null || ! node -e 'process.exit(parseInt(process.versions.node, 10) < 20 ? 1 : 0)'; then
  echo "Node.js 20 or newer with npm is needed (https://nodejs.org); found: $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi
