#!/usr/bin/env bash
# Prepares a checkout to run Anju: finds Python >= 3.12, makes .venv, installs Anju with its
# development tools (again only when pyproject.toml changed) and compiles the translations.
# Used by ./start and ./test; safe to run any number of times.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV="$ROOT/.venv"

say() { printf '[anju] %s\n' "$*" >&2; }

is_suitable() {
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local candidate
  local candidates=()
  [ -n "${ANJU_PYTHON:-}" ] && candidates+=("$ANJU_PYTHON")
  candidates+=(python3.13 python3.12 python3.14 python3)
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)"/versions/3.1[2-9]*/bin/python3; do
      [ -x "$candidate" ] && candidates+=("$candidate")
    done
  fi
  for candidate in "${candidates[@]}"; do
    if command -v "$candidate" >/dev/null 2>&1 && is_suitable "$(command -v "$candidate")"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ] || ! is_suitable "$VENV/bin/python"; then
  if ! PYTHON=$(find_python); then
    say "Anju needs Python 3.12 or newer, and none was found."
    say "Install one, then run this again:"
    say "  Debian/Ubuntu: apt-get install python3.12 python3.12-venv"
    say "  macOS:         brew install python@3.12"
    say "  any system:    pyenv install 3.12   (or set ANJU_PYTHON=/path/to/python3.12)"
    exit 1
  fi
  say "creating .venv with $("$PYTHON" --version) ($PYTHON)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
fi

STAMP="$VENV/.anju-installed"
WANT=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  say "installing Anju and its dependencies into .venv (first run takes about a minute)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
  "$VENV/bin/python" -c 'import anju, django, rest_framework' \
    || { say "installation failed: see the pip messages above"; exit 1; }
  echo "$WANT" > "$STAMP"
fi

"$VENV/bin/python" -m anju.core.i18n_compile
