#!/usr/bin/env bash
# Container images without a registry, built with buildah (daemonless) in a store of our own:
#
#   hack/image.sh base             the Dockerfile's base, debian:bookworm-slim, made from a local
#                                  debootstrap root file system (cached; no registry is reachable)
#   hack/image.sh build [ARCHIVE]  the repository's Dockerfile, built as a user builds it (after
#                                  ./mvnw package), saved as a docker-archive (default
#                                  target/images/conntrack-operator.tar, image conntrack-operator:0.1.0)
#   hack/image.sh pause [ARCHIVE]  the pod sandbox ("pause") image: a static C program
#   hack/image.sh nginx [ARCHIVE]  nginx-light on the same base, for the NAT case on the real node
#   hack/image.sh k3s [ARCHIVE]    rancher/k3s:<K3S_VERSION> (hack/k3s/Containerfile) on the same base,
#                                  from the k3s binary of hack/build-test-binaries.sh --k3s; without
#                                  ARCHIVE it is cached under the image directory (rebuilt only when
#                                  the binary, hack/k3s/ or this script change) and its path printed
#   hack/image.sh size             uncompressed size of the built image, in bytes
#   hack/image.sh clean            remove the builder's store (the base's root file system stays cached)
#
# A docker-archive loads into containerd (`ctr images import`, the real node and k3s) and into a
# Docker engine (`docker load`). The base is imported under the name the Dockerfile's FROM uses, so
# the Dockerfile is built unchanged. The store, the cache and the builder's mounts live under
# CONNTRACK_IMAGE_DIR (default ~/.kubeapitest/images); nothing is written to the host's own
# container storage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE_DIR="${CONNTRACK_IMAGE_DIR:-${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}/images}"
BASE_NAME=docker.io/library/debian:bookworm-slim
BASE_ROOTFS="$IMAGE_DIR/debian-bookworm-slim.tar"
DEBIAN_MIRROR="${CONNTRACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
IMAGE="${CONNTRACK_IMAGE:-conntrack-operator:0.1.0}"
IMAGES_OUT="$ROOT/target/images"

log() { echo "[image] $*" >&2; }
bah() { buildah --root "$IMAGE_DIR/storage" --runroot "$IMAGE_DIR/run" --storage-driver overlay "$@"; }

need_tools() {
  command -v buildah >/dev/null || { log "buildah is required: hack/install-deps.sh --node"; exit 1; }
  command -v debootstrap >/dev/null || { log "debootstrap is required: hack/install-deps.sh --node"; exit 1; }
}

# Unmounts whatever the builder left mounted in its run root (an interrupted build).
unmount_store() {
  local mounts
  mounts="$(awk -v p="$IMAGE_DIR/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r)"
  [[ -z "$mounts" ]] || while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done <<< "$mounts"
}

# The root file system of debian:bookworm-slim as Debian's image build makes it: debootstrap's
# minbase variant without documentation, man pages, locales, package lists or caches, and with the
# same dpkg exclusions, so packages installed on top stay slim too.
make_rootfs() {
  [[ -f "$BASE_ROOTFS" ]] && return 0
  local dir="$IMAGE_DIR/rootfs.tmp"
  rm -rf "$dir"
  mkdir -p "$dir"
  log "debootstrap bookworm (minbase) from $DEBIAN_MIRROR (done once, about a minute)"
  debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" > "$IMAGE_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$IMAGE_DIR/debootstrap.log" >&2; exit 1; }
  cat > "$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat > "$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  rm -f "$dir/etc/apt/sources.list"
  cat > "$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  (
    cd "$dir"
    find usr/share/doc -mindepth 2 -not -name copyright -not -type d -delete
    rm -rf usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/groff/* usr/share/lintian/*
    rm -rf var/lib/apt/lists/* var/cache/apt/* var/cache/debconf/*-old var/log/* tmp/* debootstrap
    : > etc/hostname
  )
  tar --numeric-owner -C "$dir" -cf "$BASE_ROOTFS.tmp" .
  mv "$BASE_ROOTFS.tmp" "$BASE_ROOTFS"
  rm -rf "$dir"
}

base() {
  need_tools
  mkdir -p "$IMAGE_DIR"
  make_rootfs
  if bah inspect --type image "$BASE_NAME" >/dev/null 2>&1; then return 0; fi
  log "importing $BASE_NAME from $BASE_ROOTFS"
  local c
  c="$(bah from --pull=never scratch)"
  bah add --quiet "$c" "$BASE_ROOTFS" / >/dev/null
  bah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
  bah commit --quiet --rm "$c" "$BASE_NAME" >/dev/null
}

# save IMAGE ARCHIVE: the image as a docker-archive (loads into containerd and Docker alike).
save() {
  mkdir -p "$(dirname "$2")"
  rm -f "$2"
  bah push --quiet "$1" "docker-archive:$2:$1" >/dev/null
  log "saved $1 to $2 ($(du -m "$2" | cut -f1) MB)"
}

build() {
  local out="${1:-$IMAGES_OUT/conntrack-operator.tar}"
  [[ -f "$ROOT/target/quarkus-app/quarkus-run.jar" ]] || { log "no target/quarkus-app: run ./mvnw package first"; exit 1; }
  base
  trap unmount_store EXIT
  log "building $IMAGE from the Dockerfile (buildah bud; the base is local, the package installs come from Debian's mirror)"
  # --network host: RUN steps reach the Debian mirror the way the host does (no bridge, no NAT
  # rules). --isolation chroot: no nested runtime needed. --layers: unchanged steps are reused.
  bah bud --quiet --pull=never --layers --network host --isolation chroot \
    -f "$ROOT/Dockerfile" -t "$IMAGE" "$ROOT" >/dev/null
  save "$IMAGE" "$out"
}

pause() {
  local out="${1:-$IMAGES_OUT/pause.tar}" name=localhost/conntrack-pause:1
  need_tools
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"; unmount_store' EXIT
  gcc -static -Os -o "$WORK/pause" "$ROOT/hack/node/pause.c"
  strip "$WORK/pause"
  local c
  c="$(bah from --pull=never scratch)"
  bah copy --quiet "$c" "$WORK/pause" /pause >/dev/null
  bah config --entrypoint '["/pause"]' "$c"
  bah commit --quiet --rm "$c" "$name" >/dev/null
  save "$name" "$out"
}

nginx() {
  local out="${1:-$IMAGES_OUT/nginx.tar}" name=localhost/conntrack-nginx:1
  base
  trap unmount_store EXIT
  bah bud --quiet --pull=never --layers --network host --isolation chroot \
    -f "$ROOT/hack/node/nginx.Containerfile" -t "$name" "$ROOT/hack/node" >/dev/null
  save "$name" "$out"
}

k3s() {
  # shellcheck source=hack/versions.env
  source "$ROOT/hack/versions.env"
  local test_dir="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"
  local name="docker.io/rancher/k3s:${K3S_VERSION/+/-}"
  local binary="$test_dir/k3s/$K3S_VERSION/k3s" src="$test_dir/k3s/src"
  [[ -x "$binary" ]] || { log "no k3s binary: hack/build-test-binaries.sh --k3s"; exit 1; }
  local out="${1:-}"
  if [[ -z "$out" ]]; then
    # The cache key: what goes into the image (the binary by size and time: hashing 250 MB each run
    # costs a second or two for nothing).
    local key
    key="$( (stat -c '%s %Y' "$binary"; cat "$ROOT"/hack/k3s/* "$ROOT/hack/image.sh") | sha256sum | cut -c1-12)"
    out="$IMAGE_DIR/k3s-${K3S_VERSION/+/-}-$key.tar"
    if [[ -f "$out" ]]; then echo "$out"; return 0; fi
    rm -f "$IMAGE_DIR/k3s-${K3S_VERSION/+/-}"*.tar
  fi
  base
  [[ -f "$IMAGE_DIR/pause.tar" ]] || pause "$IMAGE_DIR/pause.tar"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"; unmount_store' EXIT
  cp "$binary" "$ROOT/hack/k3s/flannel" "$ROOT/hack/k3s/config.yaml" "$ROOT/hack/k3s/Containerfile" "$WORK/"
  cp "$IMAGE_DIR/pause.tar" "$WORK/pause.tar"
  # This build ships no manifests: the cloud controller's RBAC is needed for the node to initialise.
  mkdir -p "$WORK/manifests"
  cp "$src/manifests/ccm.yaml" "$src/manifests/rolebindings.yaml" "$WORK/manifests/"
  # k3s's own containerd template, with restrict_oom_score_adj (root here lacks CAP_SYS_RESOURCE)
  # and without AppArmor, which k3s only sets for user namespaces.
  awk '/^const ContainerdConfigTemplateV3 = `/ {on = 1; next} on && /^`/ {exit} on' "$src/pkg/agent/templates/templates.go" \
    | sed -e 's/{{ if .IsRunningInUserNS }}/{{ if false }}/' \
          -e 's/^  device_ownership_from_security_context = .*/&\n  disable_apparmor = true\n  restrict_oom_score_adj = true/' \
    > "$WORK/config-v3.toml.tmpl"
  grep -q 'restrict_oom_score_adj = true' "$WORK/config-v3.toml.tmpl" || { log "k3s's containerd template changed: update hack/image.sh"; exit 1; }
  log "building $name (hack/k3s/Containerfile)"
  bah bud --quiet --pull=never --layers --network host --isolation chroot -f "$WORK/Containerfile" -t "$name" "$WORK" >/dev/null
  save "$name" "$out"
  echo "$out"
}

size() {
  bah inspect --type image --format '{{.Size}}' "$IMAGE" 2>/dev/null \
    || bah images --noheading --format '{{.Size}}' "$IMAGE"
}

clean() {
  unmount_store
  bah rmi --all --force >/dev/null 2>&1 || true
  unmount_store
  rm -rf "$IMAGE_DIR/storage" "$IMAGE_DIR/run"
}

case "${1:-}" in
  base) base ;;
  build) shift; build "$@" ;;
  pause) shift; pause "$@" ;;
  nginx) shift; nginx "$@" ;;
  k3s) shift; k3s "$@" ;;
  size) size ;;
  clean) clean ;;
  *) sed -n '2,21p' "$0" >&2; exit 2 ;;
esac
