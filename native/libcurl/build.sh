#!/usr/bin/env bash
# Builds the libcurl that requestx bundles: static, position-independent, HTTP,
# HTTPS, WS and WSS only, over OpenSSL with HTTP/2 (nghttp2) and HTTP/3 (ngtcp2 +
# nghttp3), brotli, zstd and zlib.
#
#   native/libcurl/build.sh [BUILD_DIR]      (default: build/libcurl)
#
# Sources come only from Debian's archive, through `apt-get source
# --download-only`, and each file is checked against sources.lock. Everything is
# cached under BUILD_DIR: downloads in src/, one install prefix in prefix/, and a
# stamp per component, so a second run with nothing changed costs nothing.
# On any failure the script says which step failed (for a download: which file
# the mirror did not have) and exits non-zero; the Makefile then falls back to
# the system libcurl.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD="$(mkdir -p "${1:-build/libcurl}" && cd "${1:-build/libcurl}" && pwd)"
SRC="$BUILD/src"
WORK="$BUILD/work"
PREFIX="$BUILD/prefix"
LOG="$BUILD/logs"
JOBS="${JOBS:-$(nproc)}"
mkdir -p "$SRC" "$WORK" "$PREFIX/lib" "$LOG"

say() { printf 'libcurl build: %s\n' "$*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}

# Runs a build step with its output in a log; on failure shows the log's end.
step() {
  local name="$1"
  shift
  say "$name"
  if ! "$@" >"$LOG/$name.log" 2>&1; then
    tail -n 30 "$LOG/$name.log" >&2
    die "$name (full log: $LOG/$name.log)"
  fi
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The deb-src entries of the suites sources.lock draws on, for the archive
# the machine already uses; apt-get update only when the entries change.
ensure_apt_sources() {
  local list=/etc/apt/sources.list.d/requestx-libcurl.sources
  local uri entries
  uri="$(grep -rhoE '^(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    awk '{print $2}' | head -n 1 || true)"
  uri="${uri%/}"
  uri="${uri:-http://deb.debian.org/debian}"
  entries="Types: deb-src
URIs: $uri
Suites: trixie trixie-backports sid experimental
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  [ -f "$list" ] && [ "$(cat "$list")" = "$entries" ] && return 0
  say "adding deb-src entries for $uri to $list"
  printf '%s\n' "$entries" | as_root tee "$list" >/dev/null
  as_root apt-get update -qq || die "apt-get update after adding $list"
}

check_sha() { # file sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# Fetches one pinned source file into src/ unless it is there with the right hash.
fetch_source() { # package version file sha256
  local pkg="$1" ver="$2" file="$3" sha="$4"
  check_sha "$SRC/$file" "$sha" && return 0
  ensure_apt_sources
  say "fetching $pkg $ver"
  local tmp
  tmp="$(mktemp -d "$SRC/.fetch.XXXXXX")"
  # The mirror often has the orig tarball but not the .dsc: apt-get then exits
  # non-zero after downloading what it could, so judge by the file itself.
  (cd "$tmp" && apt-get source --download-only -qq "$pkg=$ver" >"$LOG/fetch-$pkg.log" 2>&1) || true
  if [ ! -f "$tmp/$file" ]; then
    rm -rf "$tmp"
    die "could not fetch $file ($pkg $ver) from the archive: $(grep -m1 -oE '[0-9]{3} +Not Found|E: .*' "$LOG/fetch-$pkg.log" || echo 'see '"$LOG/fetch-$pkg.log")"
  fi
  check_sha "$tmp/$file" "$sha" || {
    rm -rf "$tmp"
    die "$file does not match its sha256 in sources.lock"
  }
  mv "$tmp/$file" "$SRC/$file"
  rm -rf "$tmp"
}

# Unpacks a tarball into a fresh work directory, applies the component's
# patches and prints the directory: first Debian's series when sources.lock
# names a .debian.tar.xz for it (DEBIAN_TARBALL), then ours, patches/<pkg>-*.patch
# (fixes for advisories that no reachable release has fixed, in our words).
unpack() { # file
  local dir="$WORK/${1%.orig.tar.*}" p
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xf "$SRC/$1" -C "$dir" --strip-components=1
  if [ -n "${DEBIAN_TARBALL:-}" ]; then
    tar -xf "$SRC/$DEBIAN_TARBALL" -C "$dir"
    while read -r p _; do
      case "$p" in '' | '#'*) continue ;; esac
      patch -d "$dir" -p1 -s --no-backup-if-mismatch <"$dir/debian/patches/$p" >&2 ||
        die "Debian's $p does not apply to $1"
    done <"$dir/debian/patches/series"
  fi
  for p in "$HERE/patches/$PKG"-*.patch; do
    [ -f "$p" ] || continue
    patch -d "$dir" -p1 -s --no-backup-if-mismatch <"$p" >&2 || die "$(basename "$p") does not apply to $1"
  done
  printf '%s\n' "$dir"
}

export CFLAGS="-O2 -g0 -fPIC -fvisibility=hidden"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
export PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig"
CMAKE=(cmake -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX"
  -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_FLAGS="$CFLAGS")

build_zlib() {
  local d
  d="$(unpack "$1")"
  cd "$d"
  step zlib-configure ./configure --static --prefix="$PREFIX" --libdir="$PREFIX/lib"
  step zlib-make make -j"$JOBS" libz.a
  step zlib-install make install
}

build_brotli() {
  cmake_component brotli "$1" -DBROTLI_DISABLE_TESTS=ON -DBROTLI_BUILD_TOOLS=OFF
}

build_libzstd() {
  local d
  d="$(unpack "$1")"
  cd "$d/lib"
  step zstd-make make -j"$JOBS" libzstd.a-mt CFLAGS="$CFLAGS"
  step zstd-install make install-static install-includes install-pc PREFIX="$PREFIX" LIBDIR="$PREFIX/lib"
}

build_openssl() {
  local d
  d="$(unpack "$1")"
  cd "$d"
  # openssldir is where OpenSSL looks for openssl.cnf; the system's keeps a
  # machine's crypto policy in force. CA files are given by requestx itself.
  step openssl-configure ./Configure linux-x86_64 no-shared no-module no-tests no-docs no-apps \
    no-engine no-comp no-ssl3 no-legacy -fPIC --prefix="$PREFIX" --libdir=lib --openssldir=/etc/ssl
  step openssl-make make -j"$JOBS" build_libs
  step openssl-install make install_dev
}

# A CMake component: unpacked, configured with CMAKE and the extra options,
# built and installed into the prefix.
cmake_component() { # name file [cmake options...]
  local name="$1" d
  d="$(unpack "$2")"
  shift 2
  step "$name-configure" "${CMAKE[@]}" -S "$d" -B "$d/out" -DBUILD_TESTING=OFF "$@"
  step "$name-make" cmake --build "$d/out" -j"$JOBS"
  step "$name-install" cmake --install "$d/out"
}

build_nghttp2() {
  cmake_component nghttp2 "$1" -DENABLE_LIB_ONLY=ON -DBUILD_STATIC_LIBS=ON -DENABLE_DOC=OFF
}

build_ngtcp2() {
  cmake_component ngtcp2 "$1" -DENABLE_LIB_ONLY=ON -DENABLE_SHARED_LIB=OFF -DENABLE_STATIC_LIB=ON \
    -DENABLE_OPENSSL=ON -DOPENSSL_ROOT_DIR="$PREFIX" -DOPENSSL_USE_STATIC_LIBS=ON
}

build_nghttp3() {
  cmake_component nghttp3 "$1" -DENABLE_LIB_ONLY=ON -DENABLE_SHARED_LIB=OFF -DENABLE_STATIC_LIB=ON
}

build_curl() {
  local d
  d="$(unpack "$1")"
  cd "$d"
  # Only what requestx uses: every other protocol, auth scheme and optional
  # library is off. No built-in CA paths: the engine picks the CA file itself
  # (requestx/_engine/process.h), so one wheel fits every distribution.
  step curl-configure ./configure --prefix="$PREFIX" --libdir="$PREFIX/lib" \
    --disable-shared --enable-static --with-pic \
    --with-openssl="$PREFIX" --with-nghttp2="$PREFIX" --with-ngtcp2="$PREFIX" --with-nghttp3="$PREFIX" \
    --with-zlib="$PREFIX" --with-brotli="$PREFIX" --with-zstd="$PREFIX" \
    --without-libpsl --without-libidn2 --without-librtmp --without-libssh2 --without-libssh \
    --without-gssapi --without-libgsasl --without-ca-bundle --without-ca-path --without-ca-fallback \
    --disable-ldap --disable-ldaps --disable-dict --disable-file --disable-ftp --disable-gopher \
    --disable-imap --disable-mqtt --disable-pop3 --disable-rtsp --disable-smb --disable-smtp \
    --disable-telnet --disable-tftp --disable-ipfs --disable-ntlm --disable-kerberos-auth \
    --disable-negotiate-auth --enable-websockets --enable-threaded-resolver --enable-symbol-hiding \
    --disable-manual --disable-docs --disable-curldebug --disable-debug
  step curl-make make -j"$JOBS" -C lib
  step curl-install-lib make -C lib install
  step curl-install-include make -C include install
  cp curl-config "$PREFIX/bin/curl-config" 2>/dev/null || { mkdir -p "$PREFIX/bin" && cp curl-config "$PREFIX/bin/"; }
  cp libcurl.pc "$PREFIX/lib/pkgconfig/"
}

# Components in link order's reverse: each may use the ones before it. A
# component's stamp names a hash of its sources.lock lines, its patches and
# this script, so a change to any of them rebuilds it and everything after it.
SCRIPT_SHA="$(sha256sum "$0" | cut -c1-16)"
mapfile -t LINES < <(grep -vE '^[[:space:]]*(#|$)' "$HERE/sources.lock")
rebuild=0
for ((i = 0; i < ${#LINES[@]}; i++)); do
  read -r pkg ver file sha <<<"${LINES[i]}"
  case "$file" in *.debian.tar.*) continue ;; esac # taken with its orig tarball
  DEBIAN_TARBALL="" deb_sha=""
  if ((i + 1 < ${#LINES[@]})); then
    read -r npkg nver nfile nsha <<<"${LINES[i + 1]}"
    if [ "$npkg" = "$pkg" ] && [[ "$nfile" == *.debian.tar.* ]]; then
      DEBIAN_TARBALL="$nfile" deb_sha="$nsha"
    fi
  fi
  PKG="$pkg"
  patches=("$HERE/patches/$pkg"-*.patch)
  [ -f "${patches[0]}" ] || patches=()
  key="$({ printf '%s\n' "${LINES[i]}" "$DEBIAN_TARBALL $deb_sha"; cat "${patches[@]}" </dev/null; } | sha256sum | cut -c1-16)"
  stamp="$PREFIX/.$pkg-$key-$SCRIPT_SHA"
  if [ "$rebuild" = 0 ] && [ -f "$stamp" ]; then continue; fi
  # from here on everything is rebuilt: a failure must not leave the old
  # libcurl.a beside new dependencies (setup.py takes libcurl.a as "built")
  rm -f "$PREFIX/lib/libcurl.a"
  fetch_source "$pkg" "$ver" "$file" "$sha"
  [ -z "$DEBIAN_TARBALL" ] || fetch_source "$pkg" "$ver" "$DEBIAN_TARBALL" "$deb_sha"
  start=$SECONDS
  (build_"$pkg" "$file")
  say "$pkg $ver built in $((SECONDS - start)) s"
  rm -f "$PREFIX/.$pkg-"*
  touch "$stamp"
  rebuild=1
done

"$PREFIX/bin/curl-config" --version >/dev/null || die "no curl-config in $PREFIX"
say "ready: $("$PREFIX/bin/curl-config" --version) in $PREFIX ($("$PREFIX/bin/curl-config" --features | tr '\n' ' '))"
