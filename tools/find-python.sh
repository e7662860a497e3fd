#!/usr/bin/env bash
# Print the path of a Python >= 3.12 (Mesa 3.5 needs it), or explain what to install.
# An explicit $PYTHON is used as given, or refused with a message: never silently replaced.
# Otherwise looks at python3.12, python3.13, python3.14, python3, python on PATH, then at
# pyenv's installed versions.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
real() { "$1" -c 'import sys; print(sys.executable)'; }  # pyenv shims resolve to the active version
if [ -n "${PYTHON:-}" ]; then
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: PYTHON=$PYTHON: no such interpreter" >&2
    exit 1
  fi
  if ! ok "$PYTHON"; then
    found=$("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null) || found="of unknown version"
    echo "error: PYTHON=$PYTHON is Python $found; cadre-sim needs Python >= 3.12 (Mesa 3.5). Point PYTHON at a 3.12 or newer, or leave it unset to search." >&2
    exit 1
  fi
  real "$PYTHON"
  exit 0
fi
candidates=()
for name in python3.12 python3.13 python3.14 python3 python; do
  path=$(command -v "$name" 2>/dev/null) && candidates+=("$path")
done
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for dir in $(ls -d "$pyenv_root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
  candidates+=("$dir/bin/python")
done
for python in "${candidates[@]}"; do
  if [ -x "$python" ] && ok "$python"; then
    real "$python"
    exit 0
  fi
done
cat >&2 <<'MSG'
error: no Python >= 3.12 found (Mesa 3.5 requires it).
Install one, for example:
  pyenv install 3.12        (then re-run; pyenv versions are found automatically)
  sudo apt-get install python3.12 python3.12-venv
or point to one:  make setup PYTHON=/path/to/python3.12
MSG
exit 1
