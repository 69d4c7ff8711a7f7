#!/usr/bin/env bash
# Lists every #include in src/ of a folder that the including folder may not use (src/layers.txt:
# the folders a layer names, and everything they use in turn), and exits 1 when there is one.
# The build enforces the same rule; this checks it without building.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../src"

declare -A ALLOWED
while IFS=: read -r layer uses; do
  [[ -z "$layer" || "$layer" == \#* ]] && continue
  allowed="$layer"
  for used in $uses; do allowed="$allowed ${ALLOWED[$used]:?src/layers.txt: $layer uses $used, which is not listed above it}"; done
  ALLOWED[$layer]="$allowed"
done < layers.txt

bad=0
for dir in */; do
  layer="${dir%/}"
  allowed="${ALLOWED[$layer]:-}"
  if [[ -z "$allowed" ]]; then
    echo "src/$layer: a folder src/layers.txt does not name"
    bad=1
    continue
  fi
  while IFS=: read -r file line include; do
    used="${include#*\"}"
    used="${used%%/*}"
    if [[ " $allowed " != *" $used "* ]]; then
      echo "src/$file:$line: $layer may not include $used/ (${include#\#include })"
      bad=1
    fi
  done < <(grep -rn --include='*.h' --include='*.cpp' '^#include "[a-z_]*/' "$layer" || true)
done
[[ "$bad" == 0 ]] && echo "layers: every include of src/ goes down (src/layers.txt)"
exit "$bad"
