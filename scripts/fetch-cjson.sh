#!/usr/bin/env bash
# fetch-cjson.sh - find or fetch the cJSON C source the builds compile in.
#
# Prints, as the last line of stdout, a folder holding cJSON.c and cJSON.h.
# Progress goes to stderr.
#
#   CJSON_SRC=/path/to/cJSON  use that folder (validated, nothing fetched)
#   otherwise                 Debian's source package of cjson, fetched with
#                             the ordinary apt client into .cache/cjson/
#                             (ignored by git). With dpkg-dev present the
#                             Debian-patched tree is used (the bookworm
#                             security fixes live in debian.tar.xz); without
#                             it, the upstream orig tarball.
#
# Idempotent: once cached it only checks the cache. Fetching needs either a
# deb-src apt entry already present or root (to add one and apt-get update).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$here/.cache/cjson"
dest="$cache/src"

say() { printf 'fetch-cjson: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

valid() { [[ -f "$1/cJSON.c" && -f "$1/cJSON.h" ]]; }

if [[ -n "${CJSON_SRC:-}" ]]; then
  valid "$CJSON_SRC" || die "CJSON_SRC=$CJSON_SRC has no cJSON.c and cJSON.h"
  (cd "$CJSON_SRC" && pwd)
  exit 0
fi

if valid "$dest" && [[ -f "$cache/SOURCE" ]]; then
  echo "$dest"
  exit 0
fi

command -v apt-get >/dev/null || die "no apt-get; set CJSON_SRC to a cJSON source folder"

have_deb_src() {
  grep -qsE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources ||
    grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list
}

is_root() { [[ "$(id -u)" == 0 ]]; }

if ! have_deb_src; then
  is_root || die "no deb-src apt entry; add one (see TOOLCHAIN.md) or set CJSON_SRC"
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    say "adding deb-src entry /etc/apt/sources.list.d/debian-src.sources"
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      > /etc/apt/sources.list.d/debian-src.sources
  elif [[ -f /etc/apt/sources.list ]]; then
    say "adding deb-src entry /etc/apt/sources.list.d/debian-src.list"
    sed -n 's/^deb[[:space:]]/deb-src /p' /etc/apt/sources.list \
      > /etc/apt/sources.list.d/debian-src.list
  else
    die "no apt sources found to derive a deb-src entry from; set CJSON_SRC"
  fi
  need_update=1
else
  need_update=0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/tmp.XXXXXX")"
chmod 755 "$work" # lets apt fetch as its _apt user
trap 'rm -rf "$work"' EXIT

download() { (cd "$work" && apt-get source --download-only cjson) >&2; }

if [[ "$need_update" == 1 ]]; then
  say "apt-get update"
  apt-get update -qq >&2
fi
if ! download; then
  is_root || die "apt-get source cjson failed (run apt-get update as root, or set CJSON_SRC)"
  say "apt-get source failed; apt-get update and retry"
  apt-get update -qq >&2
  download || die "apt-get source cjson failed"
fi

dsc="$(ls "$work"/cjson_*.dsc 2>/dev/null | head -n1 || true)"
orig="$(ls "$work"/cjson_*.orig.tar.* 2>/dev/null | head -n1 || true)"
[[ -n "$orig" ]] || die "apt-get source left no orig tarball"

tree=""
if [[ -n "$dsc" ]] && command -v dpkg-source >/dev/null; then
  say "unpacking Debian-patched tree $(basename "$dsc")"
  if (cd "$work" && dpkg-source -x "$(basename "$dsc")" tree) >&2; then
    tree="$work/tree"
    origin="debian-patched $(basename "$dsc" .dsc)"
  else
    say "dpkg-source -x failed; falling back to the upstream tarball"
  fi
fi
if [[ -z "$tree" ]]; then
  say "unpacking upstream $(basename "$orig") (without Debian's patches; install dpkg-dev for them)"
  mkdir -p "$work/orig"
  tar -xf "$orig" -C "$work/orig"
  tree="$(dirname "$(find "$work/orig" -name cJSON.c -print -quit)")"
  origin="upstream $(basename "$orig")"
fi
valid "$tree" || die "unpacked tree has no cJSON.c/cJSON.h"

# Keep only what the builds need, plus the licence.
mkdir -p "$work/out"
cp "$tree/cJSON.c" "$tree/cJSON.h" "$work/out/"
[[ -f "$tree/LICENSE" ]] && cp "$tree/LICENSE" "$work/out/"
rm -rf "$dest"
mv "$work/out" "$dest"
echo "$origin" > "$cache/SOURCE"
say "cJSON from $origin in $dest"
echo "$dest"
