#!/usr/bin/env bash
# Set up a fresh machine: OS packages (CJK fonts), a virtual environment with CPU PyTorch 2.13.0 first,
# then ocrcore with every extra, pinned by constraints.txt. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# CJK fonts for the plate, text and char generators (nothing is downloaded at run time): every Debian CJK font
# that covers the 3,755 level-1 GB2312 hanzi, in Hei/Sans (wqy, Noto Sans CJK, Droid Sans Fallback: hanzi only,
# so characters only), Song/Ming (AR PL UMing, SungtiL GB, Noto Serif CJK) and Kai (AR PL UKai, KaitiM GB) styles,
# Regular and Bold. (fonts-cwtex-fs, the one FangSong face, covers 68 % of them: not used.)
FONT_PACKAGES="fonts-wqy-microhei fonts-wqy-zenhei fonts-arphic-ukai fonts-arphic-uming fonts-arphic-gbsn00lp
  fonts-arphic-gkai00mp fonts-noto-cjk fonts-droid-fallback fonts-dejavu-core"
missing=$(for p in $FONT_PACKAGES; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null; then
    echo "setup: installing fonts:" $missing
    apt_install $missing
  else
    echo "setup: install CJK font packages (e.g. fonts-wqy-microhei fonts-noto-cjk) with your OS package manager" >&2
  fi
fi

# Debian's Chromium for the browser test of the web app (Playwright drives it; never `playwright install`).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  echo "setup: installing chromium for the browser test"
  apt_install chromium || echo "setup: chromium not installed; the browser test will be skipped" >&2
fi

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# CPU torch first: an unpinned torch would pull several GB of CUDA packages.
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[all]"
echo "setup: done ($("$VENV/bin/python" -c 'import torch, ocrcore; print("torch", torch.__version__, "ocrcore", ocrcore.__version__)'))"
