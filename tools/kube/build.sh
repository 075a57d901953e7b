#!/usr/bin/env bash
# Build the test Kubernetes API server (salespipe-apiserver) and etcd from
# Debian unstable's Go source packages, and cache the binaries.
#
# Why: no kube-apiserver binary is obtainable here (no Docker, no internet but
# package registries); Debian sid packages the upstream k8s.io/* and etcd Go
# sources, which we compile in GOPATH mode. See tools/kube/README.md.
#
# Usage: tools/kube/build.sh [--refresh]
#   Prints the bin directory (holding `etcd` and `salespipe-apiserver`) on stdout.
#   A cached build whose Go sources and this script are unchanged returns at once
#   without network; --refresh (or SALESPIPE_KUBE_REFRESH=1) re-resolves sid's
#   package versions and rebuilds only if they changed.
# Env: SALESPIPE_KUBE_CACHE (default ~/.cache/salespipe/kube),
#      SALESPIPE_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#      SALESPIPE_KUBE_KEEP_TREE=1 keeps the ~2.3 GB unpacked source tree.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SALESPIPE_KUBE_CACHE:-$HOME/.cache/salespipe/kube}"
mirror="${SALESPIPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
refresh="${SALESPIPE_KUBE_REFRESH:-0}"
[[ "${1:-}" == "--refresh" ]] && refresh=1
bin="$cache/bin"
log() { echo "[kube-build] $*" >&2; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # one build at a time per cache

# Key part 1: our Go sources and this script. Part 2 (package versions) is
# recorded in the stamp and only re-resolved on --refresh or first build.
src_key="$(cd "$here" && cat build.sh apiserver/*.go | sha256sum | cut -c1-16)"
stamp="$bin/STAMP"
if [[ "$refresh" != 1 && -x "$bin/etcd" && -x "$bin/salespipe-apiserver" && -f "$stamp" ]] &&
	[[ "$(head -n1 "$stamp")" == "src=$src_key" ]]; then
	echo "$bin"
	exit 0
fi

# Host tools (a fresh Debian 12 has most; install what is missing).
need=()
command -v apt-get >/dev/null || { log "apt-get is required (Debian/Ubuntu host)"; exit 1; }
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v gpgv >/dev/null || need+=(gpgv)
command -v xz >/dev/null || need+=(xz-utils)
command -v flock >/dev/null || need+=(util-linux)
[[ -f "$keyring" ]] || need+=(debian-archive-keyring)
[[ -d /etc/ssl/certs ]] || need+=(ca-certificates)
if ((${#need[@]})); then
	log "installing host packages: ${need[*]}"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

# Private APT configuration pointing at sid: it never touches the host's
# dpkg database or sources. Check-Valid-Until is off because the mirror may
# serve a frozen snapshot whose Release file has expired (signatures are
# still verified against the Debian archive keyring).
apt_dir="$cache/apt"
mkdir -p "$apt_dir"/{lists/partial,archives/partial,empty}
: >"$apt_dir/status"
echo "deb [signed-by=$keyring] $mirror sid main" >"$apt_dir/sources.list"
cat >"$apt_dir/apt.conf" <<EOF
Dir::State "$apt_dir";
Dir::State::Lists "$apt_dir/lists";
Dir::State::status "$apt_dir/status";
Dir::Cache "$apt_dir";
Dir::Cache::Archives "$apt_dir/archives";
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "$apt_dir/empty";
Dir::Etc::Parts "$apt_dir/empty";
Dir::Etc::Preferences "$apt_dir/empty/preferences";
Dir::Etc::PreferencesParts "$apt_dir/empty";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
APT::Sandbox::User "root";
EOF
export APT_CONFIG="$apt_dir/apt.conf"
log "apt-get update (sid, private config)"
apt-get update -qq >&2

roots=(golang-k8s-apiextensions-apiserver-dev golang-etcd-server-dev)
mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances "${roots[@]}" |
	grep -E '^(golang-.*-dev|golang-[0-9.]+-(go|src))$' | sort -u)
mapfile -t versions < <(for p in "${pkgs[@]}"; do
	echo "$p=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')"
done)
go_pkg="$(printf '%s\n' "${pkgs[@]}" | grep -E '^golang-[0-9.]+-go$' | sort -V | tail -n1)"
go_ver="${go_pkg#golang-}"
go_ver="${go_ver%-go}"
k8s_ver="$(printf '%s\n' "${versions[@]}" | sed -n 's/^golang-k8s-apiextensions-apiserver-dev=\([0-9.]*\).*/\1/p')"
pkg_key="$(printf '%s\n' "${versions[@]}" | sha256sum | cut -c1-16)"
log "${#pkgs[@]} packages; Go $go_ver; apiextensions-apiserver $k8s_ver"

if [[ -x "$bin/etcd" && -x "$bin/salespipe-apiserver" && -f "$stamp" ]] &&
	[[ "$(sed -n 1,2p "$stamp")" == "$(printf 'src=%s\npkgs=%s' "$src_key" "$pkg_key")" ]]; then
	log "cached binaries are current"
	echo "$bin"
	exit 0
fi

deb_of() { local p="${1%%=*}" ver="${1#*=}"; echo "$apt_dir/archives/${p}_${ver/:/%3a}_"*.deb; }
missing=()
for v in "${versions[@]}"; do [[ -f "$(deb_of "$v")" ]] || missing+=("$v"); done
if ((${#missing[@]})); then
	log "downloading ${#missing[@]} .debs"
	(cd "$apt_dir/archives" && apt-get download -qq "${missing[@]}" >&2)
fi

tree="$cache/tree"
rm -rf "$tree"
mkdir -p "$tree"
log "unpacking into $tree"
for v in "${versions[@]}"; do dpkg-deb -x "$(deb_of "$v")" "$tree"; done

# GOPATH mode: Debian lays the sources out as a GOPATH. Our mains live in
# their own GOPATH entry; each has a go.mod only so that Go's "minimal module
# compatibility" maps /vN import paths (go.etcd.io/etcd/server/v3/...) onto
# the unversioned directories Debian ships.
gp="$cache/gopath"
rm -rf "$gp"
mkdir -p "$gp/src/salespipe/apiserver" "$gp/src/salespipe/etcd"
cp "$here"/apiserver/*.go "$gp/src/salespipe/apiserver/"
printf 'module salespipe/apiserver\n\ngo 1.24\n' >"$gp/src/salespipe/apiserver/go.mod"
cat >"$gp/src/salespipe/etcd/main.go" <<'EOF'
// Command etcd is upstream etcd's server entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
printf 'module salespipe/etcd\n\ngo 1.24\n' >"$gp/src/salespipe/etcd/go.mod"

export GOROOT="$tree/usr/lib/go-$go_ver"
export GOPATH="$gp:$tree/usr/share/gocode"
export GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
export GOCACHE="$cache/gocache"
ver_pkg=k8s.io/component-base/version
ldflags="-s -w -X $ver_pkg.gitVersion=v1.${k8s_ver#0.} -X $ver_pkg.gitMajor=1"
ldflags+=" -X $ver_pkg.gitMinor=$(echo "$k8s_ver" | cut -d. -f2) -X $ver_pkg.gitTreeState=clean"

out="$cache/bin.new"
rm -rf "$out"
mkdir -p "$out"
log "go build (GOPATH mode, Go $go_ver): etcd, salespipe-apiserver"
start=$SECONDS
"$GOROOT/bin/go" build -trimpath -ldflags "$ldflags" -o "$out/" salespipe/etcd salespipe/apiserver >&2
mv "$out/apiserver" "$out/salespipe-apiserver"
log "built in $((SECONDS - start)) s"
{
	echo "src=$src_key"
	echo "pkgs=$pkg_key"
	printf '%s\n' "${versions[@]}"
} >"$out/STAMP"
rm -rf "$bin"
mv "$out" "$bin"
[[ "${SALESPIPE_KUBE_KEEP_TREE:-0}" == 1 ]] || rm -rf "$tree" "$gp"
echo "$bin"
