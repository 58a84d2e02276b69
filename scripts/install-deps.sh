#!/usr/bin/env bash
# Installs everything Sluice needs to build, test and run its demo on a fresh
# Debian 12 (bookworm) machine. Idempotent and non-interactive; run as root
# (or with sudo available). Installs only what is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake pkg-config git ca-certificates clang-format
  # libraries (the design card's set and the welcome extras)
  libgit2-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev
  libcurl4-openssl-dev libboost-dev libboost-filesystem-dev libcli11-dev
  libcpp-httplib-dev libhowardhinnant-date-dev libkainjow-mustache-dev
  libical-dev libssl-dev libmicrohttpd-dev tzdata
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev time
  # the fuzz targets (scripts/fuzz.sh): clang 14 with libFuzzer and its sanitizers
  clang-14 libfuzzer-14-dev libclang-rt-14-dev ninja-build
  # real servers the integration tests start on loopback
  lighttpd openssh-client prometheus docker-registry etcd-server
  # the browser test of the dashboard (tests/browser: playwright-core drives it)
  chromium
)
# Node.js for the browser test: Debian's nodejs + npm, unless a node with npm
# is already there (another packaging of Node would conflict with Debian's npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
