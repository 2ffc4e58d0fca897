#!/usr/bin/env bash
# Builds every guest under tests/guests/<name>/ with Debian's aarch64 cross
# toolchain. Each guest directory has an executable `build` script, run with
# the directory as its working directory and CROSS=aarch64-linux-gnu-; it
# writes its images beside its sources. Afterwards MANIFEST records, per guest,
# the SHA-256 of its sources and of its images and the compiler version, so
# that a test can tell whether the committed images still match the sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CROSS=${CROSS:-aarch64-linux-gnu-}
if ! command -v "${CROSS}gcc" >/dev/null; then
  echo "tests/guests/build.sh: ${CROSS}gcc not found (apt-get install gcc-aarch64-linux-gnu)" >&2
  exit 1
fi
only=("$@")
manifest="$here/MANIFEST"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "# guest image manifest, written by tests/guests/build.sh" > "$tmp"
echo "compiler $("${CROSS}gcc" --version | head -1)" >> "$tmp"
for dir in "$here"/*/; do
  name=$(basename "$dir")
  [ -x "$dir/build" ] || continue
  if [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $name "* ]]; then
    echo "building $name" >&2
    (cd "$dir" && ./build)
  fi
done
for dir in "$here"/*/; do
  name=$(basename "$dir")
  [ -x "$dir/build" ] || continue
  # Sources: everything but images; images: *.elf and *.bin.
  (cd "$here" && find "$name" -type f ! -name '*.elf' ! -name '*.bin' ! -name '*.o' | LC_ALL=C sort | xargs sha256sum) | sed "s/^/source /" >> "$tmp"
  (cd "$here" && find "$name" -type f \( -name '*.elf' -o -name '*.bin' \) | LC_ALL=C sort | xargs -r sha256sum) | sed "s/^/image /" >> "$tmp"
done
# Shared sources (lib/) are listed by the loop above like any guest when lib/ has a build script;
# otherwise list them here so that a change to them shows too.
if [ -d "$here/lib" ] && [ ! -x "$here/lib/build" ]; then
  (cd "$here" && find lib -type f | LC_ALL=C sort | xargs -r sha256sum) | sed "s/^/source /" >> "$tmp"
fi
mv "$tmp" "$manifest"
trap - EXIT
echo "wrote $manifest" >&2
