#!/usr/bin/env bash
# Set up dynvision on a fresh machine: a virtualenv in .venv with the package and its
# dependencies (torch pinned to the CPU build 2.13.0 in the same pip call), and, for the
# tests, the Debian packages that the browser and FFCV tests need.
#
# Usage: scripts/setup.sh run|test     (idempotent: reruns only when pyproject changes)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
APT_PACKAGES="chromium chromium-driver pkg-config libopencv-dev libturbojpeg0-dev"

missing_apt() {
  for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || { echo "$p"; }; done
}

extras=""
if [ "$mode" = test ]; then
  extras="test"
  if [ -n "$(missing_apt)" ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" = none ]; then
      echo "warning: cannot install $(missing_apt | tr '\n' ' ')(not root): browser and FFCV tests will be skipped" >&2
    else
      echo "installing Debian packages: $(missing_apt | tr '\n' ' ')"
      $sudo apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $APT_PACKAGES >/dev/null
    fi
  fi
  # FFCV builds against OpenCV and libturbojpeg; take the optional extra when they are there.
  if dpkg -s libopencv-dev libturbojpeg0-dev pkg-config >/dev/null 2>&1; then extras="test,ffcv"; fi
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
stamp="$VENV/.dynvision-$mode-$(cat pyproject.toml constraints.txt 2>/dev/null | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "installing dynvision[$extras] into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # setuptools warns on every editable install of a top-level package that a folder of the same
  # name in the working directory could shadow it: here that folder is the package itself.
  PYTHONWARNINGS="ignore:Editable installation" \
    "$VENV/bin/python" -m pip install -q torch==2.13.0 -e ".${extras:+[$extras]}" -c constraints.txt
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (dynvision)" >/dev/null
  touch "$stamp"
fi
