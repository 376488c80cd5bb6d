# Shared by scripts/vm and scripts/lab: a Debian root folder built from this
# machine's apt mirror with debootstrap, and commands chrooted into it.
# Sourced; the caller defines die().

# The mirror this machine's apt uses: the first deb URI of the main archive
# (TUG_VM_MIRROR overrides).
mirror() {
	local m=""
	if [ -n "${TUG_VM_MIRROR:-}" ]; then
		echo "$TUG_VM_MIRROR"
		return
	fi
	m=$(awk '/^Types:/ { deb = ($0 ~ /(^|[ \t])deb([ \t]|$)/) }
		/^URIs:/ && deb && $2 !~ /security/ { print $2; exit }' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {
		for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
		/etc/apt/sources.list 2>/dev/null || true)
	[ -n "$m" ] || die "no Debian mirror in /etc/apt/sources.list(.d); set TUG_VM_MIRROR"
	echo "$m"
}

# in_root ROOT CMD...: CMD chrooted in ROOT with /proc, /sys and /dev mounted
# in a mount namespace of its own: the mounts vanish with it, and the host
# (where other tests read /proc/self/mountinfo) never sees them.
in_root() {
	local r=$1
	shift
	unshare --mount --propagation private -- /bin/sh -ec '
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --rbind /dev "$r/dev"
		exec chroot "$r" "$@"' in_root "$r" "$@"
}

# debroot RELEASE ROOT LOGDIR PACKAGE...: debootstrap RELEASE into ROOT and
# install the packages, with no service started in the chroot (each starts
# in its own machine at boot). Logs go to LOGDIR/{debootstrap,apt}.log.
debroot() {
	local rel=$1 root=$2 logs=$3 m
	shift 3
	m=$(mirror)
	# Its own mount namespace: debootstrap's /proc and /sys mounts in the
	# target stay out of the host's mount table.
	unshare --mount --propagation private -- debootstrap --variant=minbase --include=systemd-sysv,udev,dbus,kmod \
		"$rel" "$root" "$m" >"$logs/debootstrap.log" 2>&1 ||
		die "$rel: debootstrap failed, see $logs/debootstrap.log"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod +x "$root/usr/sbin/policy-rc.d"
	printf 'deb %s %s main\n' "$m" "$rel" >"$root/etc/apt/sources.list"
	in_root "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get update -qq && apt-get install -y -qq --no-install-recommends $(printf '%s ' "$@")" \
		>"$logs/apt.log" 2>&1 || die "$rel: package install failed, see $logs/apt.log"
	in_root "$root" apt-get clean
	rm -f "$root/usr/sbin/policy-rc.d"
}
