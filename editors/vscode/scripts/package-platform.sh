#!/usr/bin/env bash
# Packages the platform-specific extension: the bundle plus the release
# okstra-lsp for one VS Code target, as bundled/okstra-lsp (mode 0755, which
# the vsix keeps and VS Code restores when it installs it).
#
# Usage: scripts/package-platform.sh TARGET [BINARY]
#   TARGET  linux-x64, linux-arm64, darwin-x64, darwin-arm64 or win32-x64
#   BINARY  a built okstra-lsp for that target; without it the server is built:
#           linux-*  with cargo-zigbuild against glibc 2.28 (scripts/zigbuild at
#                    the repository root; on a Linux host)
#           darwin-* / win32-x64  with `cargo build --release --target <triple>`
#                    (run it on that platform: rustup target add <triple>)
#   VSIX    where to write the package (default: okstra-lsp-TARGET-VERSION.vsix
#           in this folder)
# Prints the package's path on its last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)

target=${1:?usage: scripts/package-platform.sh TARGET [BINARY]}
binary=${2:-}
case "$target" in
  linux-x64) triple=x86_64-unknown-linux-gnu ;;
  linux-arm64) triple=aarch64-unknown-linux-gnu ;;
  darwin-x64) triple=x86_64-apple-darwin ;;
  darwin-arm64) triple=aarch64-apple-darwin ;;
  win32-x64) triple=x86_64-pc-windows-msvc ;;
  *)
    echo "package-platform.sh: unknown target $target (linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64)" >&2
    exit 2
    ;;
esac
exe=okstra-lsp
[ "$target" = win32-x64 ] && exe=okstra-lsp.exe

if [ -z "$binary" ]; then
  case "$target" in
    linux-*) binary="$root/$("$root/scripts/zigbuild" "$triple.2.28" | tail -n1)" ;;
    *)
      (cd "$root" && CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
        cargo build --locked --release --quiet -p okstra-lsp --bin okstra-lsp --target "$triple" >&2)
      binary="$root/target/$triple/release/$exe"
      ;;
  esac
fi
if [ ! -f "$binary" ]; then
  echo "package-platform.sh: no server binary at $binary" >&2
  exit 1
fi

cd "$here"
version=$(node -p "require('./package.json').version")
vsix=${VSIX:-$here/okstra-lsp-$target-$version.vsix}

# When the binary runs here, it must be the server that matches the extension.
if got=$("$binary" --version 2>/dev/null); then
  if [ "$got" != "okstra-lsp $version" ]; then
    echo "package-platform.sh: $binary --version says '$got', the extension is $version" >&2
    exit 1
  fi
fi

# bundled/ exists only while vsce runs, so the universal package
# (npm run package) never picks up a server for some other platform.
rm -rf bundled
trap 'rm -rf "$here/bundled"' EXIT
mkdir bundled
install -m 0755 "$binary" "bundled/$exe"
npx vsce package --no-dependencies --allow-missing-repository --target "$target" --out "$vsix" >&2
echo "$vsix"
