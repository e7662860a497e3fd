#!/usr/bin/env bash
# `make setup`: .venv with a Python >= 3.12, exactly the locked packages, cadre-sim (editable), the kernel.
# Each step is named as it starts. Usage: [PYTHON=/path/to/python3.12] tools/setup.sh VENV LOCK
set -euo pipefail
venv=${1:-.venv}
lock=${2:-requirements.lock}
bin=$venv/bin
step() { echo "setup $1/5: $2"; }

# Run a command quietly, with a line every 9 s (elapsed time, packages installed so far) so a log never goes silent.
with_heartbeat() {
  local started=$SECONDS site pid status
  site=$("$bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  "$@" &
  pid=$!
  while ! wait_for "$pid" 9; do
    echo "  ... $((SECONDS - started)) s, $(find "$site" -maxdepth 1 -name '*.dist-info' | wc -l) packages installed so far"
  done
  wait "$pid" && status=0 || status=$?
  return "$status"
}

# True once process $1 has ended, false after $2 seconds if it still runs.
wait_for() {
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.25
  done
  return 1
}

if [ -x "$bin/python" ]; then
  if [ -n "${PYTHON:-}" ]; then
    wanted=$(PYTHON="$PYTHON" tools/find-python.sh) || exit 1
    have=$("$bin/python" -c 'import sys; print(sys._base_executable)')
    if [ "$("$wanted" -c 'import sys; print(sys.version)')" != "$("$bin/python" -c 'import sys; print(sys.version)')" ]; then
      echo "error: $venv was made with $have, not PYTHON=$PYTHON; run 'make clean' first to rebuild it" >&2
      exit 1
    fi
  fi
  step 1 "using $venv ($("$bin/python" -V))"
else
  python=$(PYTHON="${PYTHON:-}" tools/find-python.sh) || exit 1
  step 1 "creating $venv with $python ($("$python" -V))"
  "$python" -m venv "$venv"
fi

step 2 "installing the locked packages of $lock ($(grep -c '==' "$lock") pins for all platforms), hashes checked (1-2 minutes on a fresh clone)"
with_heartbeat "$bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$lock"

step 3 "installing cadre-sim from this checkout (editable: changes to src/ and data/ take effect at once)"
log=$(mktemp)
"$bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>"$log" || { cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"  # the build's warnings (an editable install's notice), shown only if it fails

step 4 "removing packages the lock does not list"
extra=$("$bin/python" -c 'from sim.provenance import lock_differences
print(" ".join(n for n, (locked, _) in lock_differences().items() if locked == "not locked"))')
if [ -n "$extra" ]; then
  echo "  removing: $extra"
  # shellcheck disable=SC2086
  "$bin/python" -m pip uninstall --quiet --yes $extra
fi

step 5 "registering the Jupyter kernel 'cadre-sim' (for the notebooks and sim report)"
"$bin/python" -m ipykernel install --sys-prefix --name cadre-sim --display-name "Python (cadre-sim)" >/dev/null
echo "setup done: $venv matches $lock"
