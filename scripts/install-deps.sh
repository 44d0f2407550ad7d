#!/usr/bin/env bash
# Installs what building and testing Portcullis needs, only when it is missing:
# system packages from Debian (apt-get) and Python test packages from PyPI (pip).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
pkg-config --exists 'openssl >= 3.0' 2>/dev/null || need_apt+=(libssl-dev)
pkg-config --exists zlib 2>/dev/null || need_apt+=(zlib1g-dev)
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)   # make demo's token and request lines
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
for extra in "$@"; do
  command -v "$extra" >/dev/null 2>&1 || need_apt+=("$extra")
done

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: installing ${need_apt[*]} (apt-get)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import pytest, requests, cryptography, joserfc, websockets, prometheus_client, yaml' 2>/dev/null; then
  echo "install-deps: installing Python test packages (pip)"
  python3 -m pip install -q --disable-pip-version-check -r e2e/requirements.txt
fi
echo "install-deps: ok (swift $(swift --version 2>/dev/null | head -1 | sed 's/.*version \([0-9.]*\).*/\1/'), openssl $(pkg-config --modversion openssl))"
