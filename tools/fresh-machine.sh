#!/usr/bin/env bash
# Run the README's two commands on a fresh Debian 12 machine, as a new user
# would: a clean bookworm root made with debootstrap, a fresh `git clone`
# of this checkout's HEAD in /root/nova-domain-meta, then
# `bash tools/demo.sh` and `bash .ci/run` in it, each with its wall time
# and its last lines.  What it proves: bindep.txt and the bootstrap
# install everything the demo and every tier need, from nothing.
#
# Too slow for every CI run (a cold debootstrap takes 1-2 minutes, the
# full `.ci/run` in the root about as long as CI itself): run it before
# closing an issue about set-up and whenever bindep.txt, the bootstrap or
# what a tier runs changes.  doc/source/contributor.rst says more.
#
# Usage (as root):  tools/fresh-machine.sh [OPTIONS]
#   --only demo|tests   run one of the two commands (default: both, in
#                       the README's order, on the same root)
#   --refresh-base      debootstrap anew instead of unpacking the cached
#                       pristine base (the cache is replaced)
#   --keep              keep the root for inspection (unmounted)
#   --tail N            show the last N lines of each command (default 15)
#   --verbose           stream each command's output, not only its log
# Environment:
#   TOX_ENVS            passed to `.ci/run` (tools/run-tests.sh honours it)
#   NDM_FRESH_DIR       where roots, logs and the cached base live
#                       (default /var/tmp/ndm-fresh-machine)
#   NDM_FRESH_MIRROR    Debian mirror (default http://deb.debian.org/debian)
#   NDM_HYPERVISOR_LOCK the host's lock for tiers that start QEMU guests,
#                       mounted into the root, where tools/run-tests.sh
#                       holds it per tier (default /tmp/ndm-hypervisor.lock)
#
# How it stays off the host: each command runs in its own mount and PID
# namespaces.  The root's mounts (a fresh /proc, /sys, /dev with /dev/pts,
# the cgroup tree under /sys) exist only in that mount namespace, so the
# host never sees them and nothing is ever unmounted outside it; when the
# command ends, every process left in the PID namespace is stopped by its
# id, the mounts are undone, and the kernel drops the namespace.  Only then,
# and only after checking that nothing is mounted below it, is the root
# deleted.  Ctrl-C takes the same path.
set -euo pipefail

SUITE=bookworm
ARCH=amd64
MIRROR=${NDM_FRESH_MIRROR:-http://deb.debian.org/debian}
WORK=${NDM_FRESH_DIR:-/var/tmp/ndm-fresh-machine}
LOCK=${NDM_HYPERVISOR_LOCK:-/tmp/ndm-hypervisor.lock}
GUEST_REPO=/root/nova-domain-meta

say() {
    echo "fresh-machine: $*"
}

die() {
    echo "fresh-machine: $*" >&2
    exit 1
}

# mounts_below DIR: mount points at or below DIR in this mount namespace.
# shellcheck disable=SC2317  # reached through a trap
mounts_below() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' \
        /proc/self/mountinfo
}

# ---------------------------------------------------------------------------
# Inside the namespaces: `fresh-machine.sh --in-namespace ROOT LOG CMD...`,
# run as PID 1 of a new PID namespace in a new, private mount namespace.

in_namespace() {
    local root=$1 log=$2
    shift 2
    mount --bind "$root" "$root"
    mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    # The host's hypervisor lock, at the same path inside: the root's real
    # tier and the host's take turns (tools/run-tests.sh holds it per tier).
    touch "$LOCK" "$root/tmp/ndm-hypervisor.lock"
    mount --bind "$LOCK" "$root/tmp/ndm-hypervisor.lock"
    exec 3>> "$log"
    # The root becomes this namespace's own root (pivot_root, not chroot),
    # as on a machine: libvirt's QEMU namespaces and nsenter reset a
    # process's root to its namespace's root, and a chroot would send them
    # to the host's file system.  The host's tree is detached afterwards,
    # so nothing in the root can reach it.
    cd "$root"
    pivot_root . .
    umount -l .
    cd /
    trap leave_namespace EXIT
    trap 'exit 130' INT TERM
    local status=0
    # A machine's environment, not ours: no pip or tox settings of this
    # host, no locale (a fresh Debian has none configured).
    /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
        TERM="${TERM:-dumb}" "$@" < /dev/null >&3 2>&1 || status=$?
    return "$status"
}

# other_pids: set ${pids[@]} to the processes of this PID namespace but
# ourselves, read from its /proc with a glob (a command substitution would
# list its own processes too).
# shellcheck disable=SC2317  # reached through a trap
other_pids() {
    local dir
    pids=()
    for dir in /proc/[0-9]*; do
        [ -d "$dir" ] && [ "${dir##*/}" != 1 ] && pids+=("${dir##*/}")
    done
    return 0
}

# leave_namespace: stop what is left in the PID namespace (daemons a failed
# test left running), each by its id, then undo the mounts.  Runs as PID 1
# of that namespace, inside the root, so it sees only processes it started;
# the root's own mount goes with the namespace.
# shellcheck disable=SC2317  # reached through a trap
leave_namespace() {
    local signal pid
    local -a pids
    for signal in TERM KILL; do
        other_pids
        [ "${#pids[@]}" -eq 0 ] && break
        echo "fresh-machine: SIG$signal to what is left: ${pids[*]}"
        for pid in "${pids[@]}"; do
            kill "-$signal" "$pid" 2>/dev/null || true
        done
        for _ in $(seq 50); do
            other_pids
            [ "${#pids[@]}" -eq 0 ] && break
            sleep 0.2
        done
    done
    # /proc last: umount reads /proc/self/mountinfo.
    umount -R /dev || umount -R -l /dev
    umount -R /sys || umount -R -l /sys
    umount /proc || umount -l /proc
}

# ---------------------------------------------------------------------------
# On the host.

main() {
    only=""
    refresh=false
    keep=false
    tail_lines=15
    verbose=false
    while [ $# -gt 0 ]; do
        case $1 in
            --only) only=$2; shift ;;
            --refresh-base) refresh=true ;;
            --keep) keep=true ;;
            --tail) tail_lines=$2; shift ;;
            --verbose) verbose=true ;;
            -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
                       exit 0 ;;
            *) die "unknown option $1 (--help)" ;;
        esac
        shift
    done
    case $only in
        ""|demo|tests) ;;
        *) die "--only takes demo or tests, not '$only'" ;;
    esac
    [ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, namespaces, mounts)"

    REPO=$(cd "$(dirname "$0")/.." && pwd)
    # This script's own packages (debootstrap, the keyring), from bindep.txt.
    bash "$REPO/tools/install-packages.sh" fresh-machine

    mkdir -p "$WORK/logs"
    WORK=$(cd "$WORK" && pwd)
    RUN=$(mktemp -d "$WORK/run.XXXXXX")
    ROOT=$RUN/root
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    BASE=$WORK/base-$SUITE-$ARCH.tar
    SELF=$REPO/tools/fresh-machine.sh

    # shellcheck disable=SC2317  # reached through a trap
    cleanup() {
        local status=$?
        trap - EXIT INT TERM
        [ "$status" -eq 130 ] && say "interrupted; tearing the root down"
        local left
        left=$(mounts_below "$RUN")
        if [ -n "$left" ]; then
            say "NOT removing $RUN: still mounted below it: $left" >&2
        elif $keep; then
            say "kept the root: $ROOT (nothing is mounted in it;" \
                "remove it with: rm -rf $RUN)"
        else
            rm -rf --one-file-system "$RUN"
        fi
        exit "$status"
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    # The pristine base: debootstrap once, keep it as a tarball, unpack it anew
    # for every run.  It holds nothing but Debian's packages and the standard
    # apt sources of a Debian 12 install.
    if $refresh || [ ! -f "$BASE" ]; then
        say "debootstrap $SUITE from $MIRROR (log: $WORK/logs/$STAMP-debootstrap.log)"
        started=$(date +%s)
        # In a mount namespace of its own: the /proc and /sys debootstrap
        # mounts in the root cannot outlive it, even if it is interrupted.
        unshare --mount --propagation private \
            debootstrap --arch="$ARCH" "$SUITE" "$ROOT" "$MIRROR" \
            > "$WORK/logs/$STAMP-debootstrap.log" 2>&1 \
            || { tail -n "$tail_lines" "$WORK/logs/$STAMP-debootstrap.log";
                 die "debootstrap failed"; }
        printf 'deb %s %s main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE-updates" \
            "${MIRROR%/debian}/debian-security" "$SUITE-security" \
            > "$ROOT/etc/apt/sources.list"
        rm -f "$ROOT"/var/cache/apt/archives/*.deb
        tar --numeric-owner -C "$ROOT" -cf "$BASE.tmp" .
        mv "$BASE.tmp" "$BASE"
        say "debootstrap took $(( $(date +%s) - started )) s; base cached in $BASE"
    else
        say "unpacking the pristine base $BASE ($(date -r "$BASE" +%F))"
        mkdir -p "$ROOT"
        tar --numeric-owner -C "$ROOT" -xpf "$BASE"
    fi
    # What this machine's network set-up gives every machine on it: name
    # resolution, and the local certificate authorities (where TLS to PyPI is
    # inspected on the way out, pip needs them; ca-certificates trusts them
    # when the bootstrap installs it).  Neither is a package.
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    if compgen -G '/usr/local/share/ca-certificates/*' > /dev/null; then
        cp -a /usr/local/share/ca-certificates/. \
            "$ROOT/usr/local/share/ca-certificates/"
    fi

    commit=$(git -C "$REPO" rev-parse HEAD)
    branch=$(git -C "$REPO" symbolic-ref --quiet --short HEAD || true)
    git -C "$REPO" diff --quiet HEAD \
        || say "note: uncommitted changes in $REPO are not in the clone"
    git clone --quiet --no-local ${branch:+--branch "$branch"} "$REPO" \
        "$ROOT$GUEST_REPO"
    [ -n "$branch" ] || git -C "$ROOT$GUEST_REPO" checkout --quiet "$commit"
    say "cloned ${branch:-HEAD} ($(git -C "$REPO" log -1 --format='%h %s'))" \
        "into $GUEST_REPO"

    declare -gA RESULT WALL LOGFILE

    # run_in_root NAME COMMAND: the README's command, in the root, timed.
    run_in_root() {
        local name=$1 command=$2 log=$WORK/logs/$STAMP-$1.log
        local -a env=()
        if [ "$name" = tests ]; then
            env=(CI=true)    # as CI runs it: a missing shellcheck fails
            [ -n "${TOX_ENVS:-}" ] && env+=("TOX_ENVS=$TOX_ENVS")
        fi
        local -a argv=(unshare --mount --propagation private --pid --fork
                       --kill-child bash "$SELF" --in-namespace "$ROOT" "$log"
                       "${env[@]}" /bin/bash -c "cd $GUEST_REPO && $command")
        : > "$log"
        say "running '$command'${env[*]:+ (${env[*]})} (log: $log)"
        local started status=0 follower=""
        started=$(date +%s)
        if $verbose; then
            tail -n +1 -f "$log" & follower=$!
        fi
        "${argv[@]}" || status=$?
        [ -n "$follower" ] && kill "$follower"
        WALL[$name]=$(( $(date +%s) - started ))
        LOGFILE[$name]=$log
        if [ "$status" -eq 0 ]; then
            RESULT[$name]=PASSED
        else
            RESULT[$name]="FAILED (exit $status)"
        fi
        say "'$command': ${RESULT[$name]} in ${WALL[$name]} s; its last lines:"
        tail -n "$tail_lines" "$log" | sed 's/^/    /'
    }

    [ "$only" = tests ] || run_in_root demo "bash tools/demo.sh"
    [ "$only" = demo ] || run_in_root tests "bash .ci/run"

    failed=0
    for name in demo tests; do
        [ -n "${RESULT[$name]:-}" ] || continue
        say "$(printf '%-5s %s in %d s (log: %s)' "$name" "${RESULT[$name]}" \
            "${WALL[$name]}" "${LOGFILE[$name]}")"
        [ "${RESULT[$name]}" = PASSED ] || failed=1
    done
    exit "$failed"
}

# Each whole command is read before it runs, so editing this file (or
# switching branches) during an hour-long run cannot change what runs
# (main always exits).
if [ "${1:-}" = "--in-namespace" ]; then shift; in_namespace "$@"; exit; fi
main "$@"
