#!/usr/bin/env bash
# `make explorer-assets`: the browser files the explorer's page loads (Solara's Vue app, RequireJS,
# Font Awesome, the grid layout, Vega), taken from the npm registry with `npm pack` into Solara's
# own proxy cache (VENV/share/solara/cdn), so the page works with no connection to a CDN.
# Solara's CDN proxy would fetch the same files from cdn.jsdelivr.net, which this machine,
# CI and many institutional networks cannot reach; the `solara-assets` package does the same
# thing, but only for an older Solara (its files are named by Solara's exact versions).
# Needs npm; without it, says so and exits 0 (the explorer then needs a CDN; its browser test skips).
# Usage: tools/explorer-assets.sh VENV
set -euo pipefail
venv=${1:-.venv}
dest="$venv/share/solara/cdn"
stamp="$dest/.cadre-sim-assets"
# npm package and version -> folder name under the cache: the URL paths Solara 1.64 asks for
# (exact versions, or the major-version ranges of its Vega-Lite widget), with ipyvuetify 1 (Vue 2).
packages=(
  "@widgetti/solara-vuetify-app@10.1.1 @widgetti/solara-vuetify-app@10.1.1"
  "@widgetti/vue-grid-layout@2.3.13-alpha.2 @widgetti/vue-grid-layout@2.3.13-alpha.2"
  "requirejs@2.3.6 requirejs@2.3.6"
  "font-awesome@4.5.0 font-awesome@4.5.0"
  "vega@5 vega@5"
  "vega-lite@5 vega-lite@5"
  "vega-embed@6 vega-embed@6"
)
wanted=$(printf '%s\n' "${packages[@]}")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  echo "explorer assets: up to date in $dest"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "explorer assets: npm not found, so the explorer's browser files were not installed (install Node.js and npm, then run 'make explorer-assets'); without them the page needs cdn.jsdelivr.net"
  exit 0
fi
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for entry in "${packages[@]}"; do
  spec=${entry%% *}
  folder=${entry#* }
  target="$dest/$folder"
  if [ -d "$target" ]; then
    continue
  fi
  echo "explorer assets: $spec"
  tarball=$(cd "$work" && npm pack --silent "$spec" 2>/dev/null | tail -1)
  mkdir -p "$work/unpack"
  tar -xzf "$work/$tarball" -C "$work/unpack"
  mkdir -p "$(dirname "$target")"
  find "$work/unpack/package" -name '*.map' -delete  # source maps: only for debugging the libraries themselves
  mv "$work/unpack/package" "$target.partial"
  mv "$target.partial" "$target"
  rm -rf "$work/unpack" "$work/$tarball"
done
printf '%s\n' "$wanted" >"$stamp"
echo "explorer assets: installed in $dest"
