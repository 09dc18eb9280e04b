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
# so characters only), Song/Ming (AR PL UMing, SungtiL GB, Noto Serif CJK), Kai (AR PL UKai, KaitiM GB, LXGW WenKai:
# a modern handwritten Kai in Light, Regular and Bold) and display (Smiley Sans: a slanted condensed sans) styles,
# all OFL, GPL or Arphic-licensed. (fonts-cwtex-fs, the one FangSong face, covers 68 % of them: not used.)
FONT_PACKAGES="fonts-wqy-microhei fonts-wqy-zenhei fonts-arphic-ukai fonts-arphic-uming fonts-arphic-gbsn00lp
  fonts-arphic-gkai00mp fonts-noto-cjk fonts-droid-fallback fonts-lxgw-wenkai fonts-smiley-sans fonts-dejavu-core
  fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea fonts-roboto-unhinted fonts-freefont-ttf"
# (The last six are Latin text fonts: the text generator draws the Latin words of a Chinese line in one of them,
# as a browser falls back from a CJK font; DejaVu, Liberation, Carlito (OFL), Caladea and Roboto (Apache-2.0)
# train, FreeFont is the held-out Latin design.)
# Real Chinese prose for the text generator (ocrcore/synth/prose.py; read where installed, never redistributed):
# Debian's Simplified Chinese documentation (GPL-2+: debian-reference, maint-guide; GFDL-1.2+: manpages-zh;
# verbatim-copy licence: debian-faq, the held-out test corpus).
PROSE_PACKAGES="debian-reference-zh-cn maint-guide-zh-cn manpages-zh debian-faq-zh-cn"
# Every OS package is required: a missing one fails setup here, loudly, rather than tests later. On a machine
# without apt-get, install the equivalents yourself and set OCRCORE_OS_PACKAGES=skip.
missing_packages() {
  for p in "$@"; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done
}
fail() { echo "setup: FAILED: $*" >&2; exit 1; }
if [ "${OCRCORE_OS_PACKAGES:-install}" = skip ]; then
  echo "setup: OCRCORE_OS_PACKAGES=skip: not checking fonts and chromium (tests that need them skip; in CI they fail)" >&2
elif ! command -v apt-get >/dev/null; then
  fail "no apt-get: install the CJK fonts and prose ($(echo $FONT_PACKAGES $PROSE_PACKAGES)) and chromium," \
       "then rerun with OCRCORE_OS_PACKAGES=skip"
else
  # CJK fonts for the generators (nothing is downloaded at run time).
  missing=$(missing_packages $FONT_PACKAGES $PROSE_PACKAGES)
  if [ -n "$missing" ]; then
    echo "setup: installing fonts and prose:" $missing
    apt_install $missing || fail "apt-get could not install" $missing
  fi
  missing=$(missing_packages $FONT_PACKAGES $PROSE_PACKAGES)
  [ -z "$missing" ] || fail "OS packages still missing after apt-get:" $missing
  # Debian's Chromium for the browser test of the web app (Playwright drives it; never `playwright install`).
  if [ ! -x /usr/bin/chromium ]; then
    echo "setup: installing chromium for the browser test"
    apt_install chromium || true
  fi
  [ -x /usr/bin/chromium ] || fail "chromium did not install (/usr/bin/chromium is missing): apt-get install chromium"
fi

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# CPU torch first: an unpinned torch would pull several GB of CUDA packages.
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[all]"
if [ "${OCRCORE_OS_PACKAGES:-install}" != skip ]; then  # installed, and not stripped by a dpkg path-exclude
  "$VENV/bin/python" -c 'from ocrcore.synth.prose import PROSE_PACKAGES as P, package_paragraphs as read
for p in P: read(p)' || fail "the prose packages are installed but their files are missing (dpkg path-exclude?)"
fi
echo "setup: done ($("$VENV/bin/python" -c 'import torch, ocrcore; print("torch", torch.__version__, "ocrcore", ocrcore.__version__)'))"
