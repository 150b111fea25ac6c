#!/usr/bin/env bash
# Set up everything the service and its tests need on a fresh Debian machine:
# apt packages, the app venv (.venv, Python 3.11) and the Rasa venv (.venv-rasa, Python 3.10).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vascular-access"
mkdir -p "$CACHE"

# --- apt packages ---------------------------------------------------------------------
APT_PACKAGES=(fonts-noto-cjk fonts-wqy-zenhei chromium libzbar0 wrk)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  command -v apt-get >/dev/null || die "需要 Debian/Ubuntu 的 apt-get 来安装：${missing[*]}"
  say "installing apt packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- find interpreters ------------------------------------------------------------------
find_python() {  # find_python 3.11 -> path of a pythonX.Y, on PATH or under pyenv
  local v="$1" cand
  for cand in "python$v" "$(command -v pyenv >/dev/null && pyenv root 2>/dev/null)/versions/$v"*/bin/python"$v"; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$v'.split('.')))" 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  for cand in "$HOME"/.pyenv/versions/"$v"*/bin/python"$v"; do
    [ -x "$cand" ] && { echo "$cand"; return 0; }
  done
  return 1
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# --- app venv ---------------------------------------------------------------------------
PY311=$(find_python 3.11) || die "找不到 Python 3.11：请安装 python3.11（或 pyenv install 3.11）后重试"
want=$(hash_of requirements.txt requirements-dev.txt)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements-hash 2>/dev/null)" != "$want" ]; then
  say "creating the app virtualenv .venv (Python 3.11)"
  [ -x .venv/bin/python ] || "$PY311" -m venv .venv
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  .venv/bin/pip install -q -r requirements-dev.txt 2>&1 | grep -v "is ignored: it is neither" || true
  .venv/bin/python -c "import flask, sqlalchemy, rq, wechatpy, rasa_sdk" || die "the app virtualenv is incomplete"
  echo "$want" > .venv/.requirements-hash
fi

# --- Rasa venv (Python 3.10), cached outside the work tree by requirements hash -----------
PY310=$(find_python 3.10) || die "找不到 Python 3.10（Rasa 3.6 只支持 3.10）：请安装 python3.10 或执行 pyenv install 3.10 后重试"
rhash=$(hash_of requirements-rasa.txt)
RASA_VENV="$CACHE/venv-rasa-$rhash"
if [ ! -f "$RASA_VENV/.complete" ]; then
  say "creating the Rasa virtualenv (Python 3.10; takes a few minutes the first time)"
  rm -rf "$RASA_VENV"
  "$PY310" -m venv "$RASA_VENV"
  "$RASA_VENV/bin/pip" install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  "$RASA_VENV/bin/pip" install -q -r requirements-rasa.txt 2>&1 | grep -v "is ignored: it is neither" || true
  "$RASA_VENV/bin/python" -c "import rasa, jieba" || die "the Rasa virtualenv is incomplete"
  touch "$RASA_VENV/.complete"
fi
if [ "$(readlink .venv-rasa 2>/dev/null)" != "$RASA_VENV" ]; then
  rm -rf .venv-rasa
  ln -s "$RASA_VENV" .venv-rasa
fi
say "ready: .venv ($(.venv/bin/python --version)), .venv-rasa ($(.venv-rasa/bin/python --version))"
