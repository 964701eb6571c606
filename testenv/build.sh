#!/usr/bin/env bash
# Build (or reuse from cache) the control-plane binaries used by scripts/testenv:
#   kube-apiserver, kube-controller-manager  <- testenv/kube  (k8s.io/kubernetes wrapper module)
#   etcd                                     <- testenv/etcd  (go.etcd.io/etcd/server/v3 wrapper module)
# Binaries go to ${TRIAGE_TESTENV_CACHE:-$HOME/.cache/triage-testenv}/<name>-<version>/<binary>
# and are never rebuilt while present (delete the directory or pass --force to rebuild).
#
# usage: testenv/build.sh [--force] [--print-paths] [etcd|kube-apiserver|kube-controller-manager ...]
set -euo pipefail

TESTENV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${TRIAGE_TESTENV_CACHE:-$HOME/.cache/triage-testenv}"

die() { echo "testenv build: error: $*" >&2; exit 1; }
log() { echo "testenv build: $*" >&2; }

# version of a module required by a wrapper go.mod ("k8s.io/kubernetes v1.36.3" -> v1.36.3)
mod_version() { # <go.mod> <module path>
  local v
  v="$(awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1")"
  [[ -n "$v" ]] || die "cannot find $2 in $1"
  echo "$v"
}

KUBE_VERSION="$(mod_version "$TESTENV_ROOT/kube/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(mod_version "$TESTENV_ROOT/etcd/go.mod" go.etcd.io/etcd/server/v3)"

# name -> "module dir|package|version"
declare -A SPEC=(
  [etcd]="etcd|go.etcd.io/etcd/server/v3|$ETCD_VERSION"
  [kube-apiserver]="kube|k8s.io/kubernetes/cmd/kube-apiserver|$KUBE_VERSION"
  [kube-controller-manager]="kube|k8s.io/kubernetes/cmd/kube-controller-manager|$KUBE_VERSION"
)
ALL=(etcd kube-apiserver kube-controller-manager)

bin_path() { # <name>
  local spec="${SPEC[$1]}"
  echo "$CACHE_ROOT/$1-${spec##*|}/$1"
}

# Kubernetes binaries built from the module report "v0.0.0-master" unless stamped the way
# upstream's hack/lib/version.sh does (kubectl version, /version, user agents).
version_ldflags() { # <name> <version>
  [[ "$1" == kube-* ]] || return 0
  local v="$2" major minor pkg out=""
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    out+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit="
  done
  echo "$out"
}

build_one() { # <name> <force>
  local name="$1" force="$2" spec dir pkg ver out tmp start secs
  spec="${SPEC[$name]}"; IFS='|' read -r dir pkg ver <<<"$spec"
  out="$(bin_path "$name")"
  if [[ "$force" == 0 && -x "$out" ]]; then
    log "$name $ver: cached at $out (0s)"
    return 0
  fi
  command -v go >/dev/null || die "go not found in PATH (need Go >= 1.24; /usr/local/go/bin?)"
  mkdir -p "$(dirname "$out")"
  tmp="$out.tmp.$$"
  log "$name $ver: building $pkg (module testenv/$dir) ..."
  start=$SECONDS
  # -mod=readonly: the committed go.mod/go.sum must be complete; never rewrite them here.
  if ! (cd "$TESTENV_ROOT/$dir" &&
        GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
          go build -trimpath -ldflags "-s -w $(version_ldflags "$name" "$ver")" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    die "$name $ver: go build $pkg failed after $((SECONDS - start))s"
  fi
  mv -f "$tmp" "$out"
  secs=$((SECONDS - start))
  log "$name $ver: built in ${secs}s -> $out ($(du -m "$out" | cut -f1) MB)"
}

main() {
  local force=0 print=0 names=() n
  while (($#)); do
    case "$1" in
      --force) force=1 ;;
      --print-paths) print=1 ;;
      -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      etcd|kube-apiserver|kube-controller-manager) names+=("$1") ;;
      *) die "unknown argument '$1' (expected --force, --print-paths, etcd, kube-apiserver, kube-controller-manager)" ;;
    esac
    shift
  done
  ((${#names[@]})) || names=("${ALL[@]}")
  if ((print)); then
    for n in "${names[@]}"; do echo "$n=$(bin_path "$n")"; done
    return 0
  fi
  mkdir -p "$CACHE_ROOT"
  # One build at a time per cache (parallel test runs / CI jobs sharing a cache).
  exec 9>"$CACHE_ROOT/.build.lock"
  if ! flock -n 9; then
    log "another build holds $CACHE_ROOT/.build.lock; waiting ..."
    flock 9
  fi
  local total=$SECONDS
  for n in "${names[@]}"; do build_one "$n" "$force"; done
  log "done in $((SECONDS - total))s (cache: $CACHE_ROOT)"
}

main "$@"
