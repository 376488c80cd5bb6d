#!/usr/bin/env bash
# tug disk fill vs dd, same fill on the same filesystems: time to reach the
# asked free space, and how close each gets to it. Filesystems are private:
# a tmpfs, and ext4 on a loop device whose image lives on another tmpfs, so
# no real disk is written. Prints a markdown section on stdout.
set -euo pipefail
: "${TUG:?}"
SIZE_MB=${SIZE_MB:-1536}
LEAVE_PCT=${LEAVE_PCT:-7}	# of the size: not a whole number of MiB, as in real life
tmp=$(mktemp -d /tmp/tug-bench-disk.XXXXXX)
cleanup() {
	umount "$tmp/ext4" 2>/dev/null || true
	umount "$tmp/img" 2>/dev/null || true
	umount "$tmp/tmpfs" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export TUG_RUN_DIR="$tmp/run" TUG_STATE_DIR="$tmp/state"
mkdir -p "$tmp/tmpfs" "$tmp/img" "$tmp/ext4"
mount -t tmpfs -o size=${SIZE_MB}M tug-bench "$tmp/tmpfs"
mount -t tmpfs -o size=$((SIZE_MB + 64))M tug-bench-img "$tmp/img"
truncate -s ${SIZE_MB}M "$tmp/img/fs.img"
mkfs.ext4 -q -F "$tmp/img/fs.img" >/dev/null
mount -o loop "$tmp/img/fs.img" "$tmp/ext4"

avail() { df -B1 --output=avail "$1" | tail -1 | tr -d ' '; }
now_ns() { date +%s%N; }

rows=()
for fs in tmpfs ext4; do
	d="$tmp/$fs"
	want=$(($(df -B1 --output=size "$d" | tail -1) * LEAVE_PCT / 100))
	before=$(avail "$d")
	sync
	# tug: from the command to the "applied" event (file in place, adjusted).
	t0=$(now_ns)
	coproc TUGP { exec "$TUG" disk fill --path "$d" --leave "$want" --for 60s --json 2>&1; }
	while read -r line <&"${TUGP[0]}"; do
		case "$line" in *'"applied"'*) break ;; esac
	done
	t1=$(now_ns)
	tug_free=$(avail "$d")
	kill -TERM "$TUGP_PID"
	wait "$TUGP_PID" || true
	tug_ms=$(((t1 - t0) / 1000000))
	[ "$(avail "$d")" -eq "$before" ] || { echo "bench: tug did not give the space back" >&2; exit 1; }
	# dd: what the runbook did, sized from df's Avail in 1 MiB blocks.
	sync
	n=$((($(avail "$d") - want) >> 20))
	t0=$(now_ns)
	dd if=/dev/zero of="$d/dd.fill" bs=1M count=$n conv=fsync status=none
	t1=$(now_ns)
	dd_free=$(avail "$d")
	rm -f "$d/dd.fill"
	dd_ms=$(((t1 - t0) / 1000000))
	rows+=("$fs|$want|$tug_ms|$tug_free|$dd_ms|$dd_free")
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "## Disk fill: tug disk fill vs dd"
echo
echo "Machine: Linux $(uname -r), $(nproc) CPUs ($cpu), $(date -u +%Y-%m-%d)."
echo "Fill a ${SIZE_MB} MiB filesystem until ${LEAVE_PCT} % of its size is left free (df's Avail)."
echo "tug: \`tug disk fill --path DIR --leave BYTES\`, timed from the command to its"
echo "\"applied\" event (process start, safety checks, journal fsync, guardian, fill);"
echo "dd: \`dd if=/dev/zero of=DIR/f bs=1M count=N conv=fsync\` with N from df's Avail,"
echo "what the runbook did. ext4 sits on a loop device whose image is on a tmpfs."
echo
echo "| filesystem | asked free | tug time | dd time | dd/tug time | tug free left (error) | dd free left (error) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do
	IFS='|' read -r fs want tug_ms tug_free dd_ms dd_free <<<"$r"
	ratio=$(awk -v a="$dd_ms" -v b="$tug_ms" 'BEGIN { printf "%.1fx", b ? a / b : 0 }')
	printf '| %s | %d B | %d ms | %d ms | %s | %d B (%+d B) | %d B (%+d B) |\n' "$fs" "$want" "$tug_ms" "$dd_ms" "$ratio" \
		"$tug_free" $((tug_free - want)) "$dd_free" $((dd_free - want))
done
echo
echo "tug's error is at most one filesystem block; dd's is the 1 MiB rounding of"
echo "count= plus whatever metadata the filesystem spends on the file."
