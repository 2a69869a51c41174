#!/bin/sh
# fetch.sh CACHE glibc SUITE...    prints "LABEL DIR" per suite: DIR holds that suite's
#                                  libc6 (ld-linux-x86-64.so.2, libc.so.6, ...), LABEL is
#                                  its upstream version (2.41)
# fetch.sh CACHE kernel SUITE...   prints "LABEL VMLINUZ" per suite: the suite's current
#                                  cloud kernel image, LABEL its version (6.1.176)
# fetch.sh CACHE busybox           prints the path of a static busybox
#
# Packages come from Debian's archive through apt, with a sources list, a lists
# directory and a package cache of their own under CACHE/apt: the machine's own apt
# configuration is only read, to find the archive it uses for its own suite (override
# with RSEQKIT_MATRIX_MIRROR).  What was fetched once is reused without any network
# access; RSEQKIT_MATRIX_REFRESH=1 asks the archive again (new versions replace old).
# Messages go to stderr; exit status 1 with a one-line reason on failure.
set -u

die() { echo "fetch.sh: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: fetch.sh CACHE glibc|kernel SUITE... | fetch.sh CACHE busybox"
cache=$1 what=$2
shift 2
mkdir -p "$cache" || die "cannot create $cache"
cache=$(cd "$cache" && pwd)
refresh=${RSEQKIT_MATRIX_REFRESH:-0}
apt=$cache/apt

host_suite() {
  (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
}

# The archive the machine uses for its own suite, from apt's configuration.
archive_uri() {
  if [ -n "${RSEQKIT_MATRIX_MIRROR:-}" ]; then
    echo "$RSEQKIT_MATRIX_MIRROR"
    return
  fi
  suite=$(host_suite)
  [ -n "$suite" ] || die "cannot tell this machine's Debian suite (/etc/os-release); set RSEQKIT_MATRIX_MIRROR"
  uri=$(apt-get indextargets --format '$(REPO_URI)' "Release: $suite" 'Identifier: Packages' 2>/dev/null | head -n 1)
  [ -n "$uri" ] || die "no apt source for '$suite' in /etc/apt/sources.list(.d); set RSEQKIT_MATRIX_MIRROR"
  echo "$uri"
}

apt_opts() {
  echo "-q -o APT::Sandbox::User=root -o Acquire::Languages=none" \
    "-o Dir::Etc::sourcelist=$apt/sources.list -o Dir::Etc::sourceparts=$apt/sources.list.d" \
    "-o Dir::Etc::preferences=$apt/preferences -o Dir::Etc::preferencesparts=$apt/preferences.d" \
    "-o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache" \
    "-o Dir::Cache::archives=$apt/cache/archives"
}

# shellcheck disable=SC2046
apt_get() { apt-get $(apt_opts) "$@"; }
# shellcheck disable=SC2046
apt_cache() { apt-cache $(apt_opts) "$@"; }

# The sources list names every suite the matrix may ask for; lists are fetched once.
updated=0
ensure_lists() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found (the matrices need Debian's apt)"
  mkdir -p "$apt/sources.list.d" "$apt/preferences.d" "$apt/lists/partial" \
    "$apt/cache/archives/partial" || die "cannot create $apt"
  uri=$(archive_uri) || exit 1
  keyring=
  [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] &&
    keyring="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
  want=
  for s in $(host_suite) ${RSEQKIT_MATRIX_SUITES:-bookworm trixie sid}; do
    case " $want " in *" $s "*) ;; *) want="$want $s" ;; esac
  done
  : > "$apt/sources.list.new"
  for s in $want; do
    echo "deb ${keyring}${uri} $s main" >> "$apt/sources.list.new"
  done
  if ! cmp -s "$apt/sources.list.new" "$apt/sources.list" 2>/dev/null; then
    mv "$apt/sources.list.new" "$apt/sources.list"
    rm -f "$apt/lists/"*_Packages* 2>/dev/null
  else
    rm -f "$apt/sources.list.new"
  fi
  if [ "$updated" = 0 ] && { [ "$refresh" = 1 ] || ! ls "$apt/lists/"*_Packages* >/dev/null 2>&1; }; then
    echo "fetch.sh: apt-get update from $uri ($want )" >&2
    apt_get update >&2 || die "apt-get update failed (network, or the archive at $uri)"
    updated=1
  fi
}

# download PACKAGE/SUITE DIR: the .deb into DIR (emptied first); prints its path.
download() {
  rm -rf "$2" && mkdir -p "$2" || die "cannot create $2"
  (cd "$2" && apt_get download "$1" >&2) || return 1
  set -- "$2"/*.deb
  [ -f "$1" ] || return 1
  echo "$1"
}

version_of() {  # version_of PACKAGE/SUITE
  apt_cache show "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# Reuse: DIR/.version names what DIR holds; refresh keeps DIR when that is unchanged.
fresh() {  # fresh DIR VERSION
  [ -f "$1/.version" ] && [ "$(cat "$1/.version")" = "$2" ]
}

lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9> "$cache/.lock" && flock 9
  fi
}
lock

case $what in
  glibc)
    for suite; do
      dir=$cache/glibc/$suite
      if [ "$refresh" != 1 ] && [ -f "$dir/.version" ]; then
        version=$(cat "$dir/.version")
      else
        ensure_lists
        version=$(version_of "libc6/$suite")
        [ -n "$version" ] || die "no libc6 in Debian $suite"
        if ! fresh "$dir" "$version"; then
          echo "fetch.sh: libc6 $version from $suite" >&2
          deb=$(download "libc6/$suite" "$cache/debs/libc6-$suite") || die "cannot download libc6/$suite"
          rm -rf "$dir.new" && mkdir -p "$dir.new" || die "cannot create $dir.new"
          dpkg-deb -x "$deb" "$dir.new" || die "cannot unpack $deb"
          echo "$version" > "$dir.new/.version"
          rm -rf "$dir" && mv "$dir.new" "$dir" || die "cannot replace $dir"
          rm -rf "$cache/debs/libc6-$suite"
        fi
      fi
      ld=$(find "$dir" -name 'ld-linux-x86-64.so.2' -type f 2>/dev/null | head -n 1)
      [ -n "$ld" ] || die "no ld-linux-x86-64.so.2 in libc6 of $suite (x86-64 only)"
      echo "${version%%-*} ${ld%/*}"
    done
    ;;
  kernel)
    [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] ||
      die "the kernel matrix boots x86-64 kernels (this machine is $(dpkg --print-architecture 2>/dev/null))"
    for suite; do
      dir=$cache/kernel/$suite
      if [ "$refresh" != 1 ] && [ -f "$dir/.version" ] && [ -f "$dir/vmlinuz" ]; then
        version=$(cat "$dir/.version")
      else
        ensure_lists
        # The meta-package names the suite's current image package.
        meta=linux-image-cloud-amd64/$suite
        version=$(version_of "$meta")
        [ -n "$version" ] || die "no $meta in Debian's archive"
        image=$(apt_cache show "$meta" | sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
          sed -n 's/^ *\(linux-image-[^ ]*-cloud-amd64\).*/\1/p' | head -n 1)
        [ -n "$image" ] || die "cannot find the image package that $meta depends on"
        # From Linux 7 the image itself is in linux-binary-*; older ones ship it inline.
        binary=linux-binary-${image#linux-image-}
        pkg=$image
        [ -n "$(version_of "$binary/$suite")" ] && pkg=$binary
        if ! fresh "$dir" "$version"; then
          echo "fetch.sh: $pkg $version from $suite" >&2
          deb=$(download "$pkg/$suite" "$cache/debs/kernel-$suite") || die "cannot download $pkg/$suite"
          rm -rf "$dir.new" && mkdir -p "$dir.new" || die "cannot create $dir.new"
          dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.new" --wildcards '*vmlinuz*' '*/config-*' 2>/dev/null
          vmlinuz=$(find "$dir.new" -name 'vmlinuz*' -type f | head -n 1)
          [ -n "$vmlinuz" ] || die "no vmlinuz in $deb"
          mv "$vmlinuz" "$dir.new/vmlinuz"
          config=$(find "$dir.new" -name 'config-*' -type f | head -n 1)
          [ -n "$config" ] && mv "$config" "$dir.new/config"
          echo "$version" > "$dir.new/.version"
          echo "$pkg" > "$dir.new/.package"
          rm -rf "$dir" && mv "$dir.new" "$dir" || die "cannot replace $dir"
          rm -rf "$cache/debs/kernel-$suite"  # tens of MB, and the image is out
        fi
      fi
      echo "${version%%-*} $dir/vmlinuz"
    done
    ;;
  busybox)
    suite=$(host_suite)
    dir=$cache/busybox
    if [ "$refresh" = 1 ] || [ ! -x "$dir/busybox" ]; then
      ensure_lists
      deb=$(download "busybox-static/$suite" "$cache/debs/busybox") || die "cannot download busybox-static/$suite"
      rm -rf "$dir.new" && mkdir -p "$dir.new" || die "cannot create $dir.new"
      dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*bin/busybox' > "$dir.new/busybox" &&
        chmod 755 "$dir.new/busybox" || die "no busybox in $deb"
      rm -rf "$dir" && mv "$dir.new" "$dir" || die "cannot replace $dir"
      rm -rf "$cache/debs/busybox"
    fi
    echo "$dir/busybox"
    ;;
  *) die "unknown item '$what' (glibc, kernel, busybox)" ;;
esac
