#!/usr/bin/env bash
# Print the path of a Python >= 3.12 (Mesa 3.5 needs it), or explain what to install.
# Honours $PYTHON if set. Looks at python3.13, python3.12, python3, python on PATH,
# then at pyenv's installed versions.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for name in python3.12 python3.13 python3.14 python3 python; do
  path=$(command -v "$name" 2>/dev/null) && candidates+=("$path")
done
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for dir in $(ls -d "$pyenv_root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
  candidates+=("$dir/bin/python")
done
for python in "${candidates[@]}"; do
  if [ -x "$python" ] && ok "$python"; then
    # pyenv shims resolve to the active version; return the real interpreter.
    "$python" -c 'import sys; print(sys.executable)'
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
