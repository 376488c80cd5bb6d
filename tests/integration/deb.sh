#!/usr/bin/env bash
# make deb: the package holds exactly the files make install installs (with
# Debian's paths) plus Debian's changelog, declares the package of every
# library its binaries link or dlopen, and the tug it carries runs from
# wherever it is unpacked, with the tug-full beside it; apt would pull its
# dependencies on an empty system, and its maintainer scripts enable
# tug-recover and undo that on purge. Nothing is installed on this host:
# the package is read with dpkg-deb, apt only simulates, dpkg installs into
# a root under $T_TMP.
. "$(dirname "$0")/../lib.sh"

want_ver=$(sed -n 's/^VERSION := //p' "$TUG_TOP/Makefile")
commit=$(git -C "$TUG_TOP" rev-parse --short=12 HEAD 2>/dev/null)
arch=$(dpkg --print-architecture)
deb="$TUG_BUILD/tug_${want_ver}_$arch.deb"
t0=$(now_ms)
make -C "$TUG_TOP" -s deb ${TUG_SAN:+SAN=$TUG_SAN} >"$T_TMP/deb.log" 2>&1
rc=$?
ms=$(($(now_ms) - t0))
t_check deb_builds "rc=$rc: $(cat "$T_TMP/deb.log")" [ "$rc" -eq 0 -a -f "$deb" ]
[ -f "$deb" ] || exit 0
echo "  make deb: ${ms} ms, $(stat -c %s "$deb") bytes, $deb"
md5_1=$(md5sum <"$deb")
make -C "$TUG_TOP" -s deb ${TUG_SAN:+SAN=$TUG_SAN} >"$T_TMP/deb2.log" 2>&1
t_check deb_reproducible "a second make deb of the same commit differs: $(cat "$T_TMP/deb2.log")" \
	[ "$md5_1" = "$(md5sum <"$deb")" ]

x="$T_TMP/x"
dpkg-deb -x "$deb" "$x" && dpkg-deb -e "$deb" "$x/DEBIAN"
field() { dpkg-deb -f "$deb" "$1"; }

# The control file: the fields the brief names, from the Makefile and dpkg.
ctl="Package=$(field Package) Version=$(field Version) Architecture=$(field Architecture)"
ctl+=" Section=$(field Section) Priority=$(field Priority) Installed-Size=$(field Installed-Size)"
echo "  $ctl Maintainer=$(field Maintainer)"
t_check deb_control_fields "$ctl; Makefile VERSION=$want_ver, dpkg arch=$arch" \
	bash -c "[ '$(field Package)' = tug ] && [ '$(field Version)' = '$want_ver' ] &&
		[ '$(field Architecture)' = '$arch' ] && [ '$(field Section)' = admin ] &&
		[ '$(field Priority)' = optional ] && [[ '$(field Installed-Size)' =~ ^[0-9]+$ ]] &&
		[ -n '$(field Maintainer)' ] && [ -n \"\$(dpkg-deb -f '$deb' Description)\" ]"

# Depends, compared with what the binaries need: the package that holds each
# NEEDED soname of both binaries and the soname tug loads with dlopen
# (user/core/http.h), no more, no less.
pkg_of() {	# soname: its package on this host, from dpkg's database
	local ma d p
	ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
	for d in "/usr/lib/$ma" "/lib/$ma" /usr/lib /lib; do
		p=$(dpkg-query -S "$d/$1" 2>/dev/null | sed -n '1s/:.*//p')
		[ -n "$p" ] && { echo "$p"; return 0; }
	done
	echo "?$1"
}
sonames=$(for b in "$x/usr/sbin/tug" "$x/usr/sbin/tug-full"; do
	objdump -p "$b" | awk '$1 == "NEEDED" { print $2 }'; done | sort -u)
dlopened=$(sed -n 's/^#define HTTP_LIBCURL "\(.*\)"$/\1/p' "$TUG_TOP/user/core/http.h")
needed=$(for s in $sonames $dlopened; do pkg_of "$s"; done | sort -u)
declared=$(field Depends | tr ',|' '\n' | sed 's/^ *//; s/[ (].*//' | grep . | sort -u)
echo "  NEEDED: $(xargs <<<"$sonames"); dlopen: $dlopened"
echo "  their packages: $(xargs <<<"$needed")"
echo "  Depends: $(field Depends)"
t_check deb_depends_libraries "missing: $(comm -23 <(echo "$needed") <(echo "$declared") | xargs);\
 not needed: $(comm -13 <(echo "$needed") <(echo "$declared") | xargs)" \
	[ -n "$dlopened" -a -n "$sonames" -a "$needed" = "$declared" ]

# The node controller carries libbpf, libnl, json-c and libseccomp from their
# archives (no NEEDED entry names them), and libelf and zlib where their
# archives link (no NEEDED entry for libelf then): Static-Built-Using names
# each one's source package at the version installed here, so a fix to it
# is known to need a rebuild of tug.
needed_tug=$(objdump -p "$x/usr/sbin/tug" | awk '$1 == "NEEDED" { print $2 }')
linked=$(grep -cE 'libbpf|libnl|json-c|seccomp' <<<"$needed_tug")
archives="libbpf.a libnl-3.a libnl-route-3.a libnl-idiag-3.a libjson-c.a libseccomp.a"
grep -q libelf <<<"$needed_tug" || archives="$archives libelf.a libz.a"
echo "  tug's NEEDED: $(xargs <<<"$needed_tug")"
want_sbu=$(for a in $archives; do
	dpkg-query -W -f='${source:Package} (= ${source:Version})\n' "$(dpkg-query -S "*/$a" | sed -n '1s/:.*//p')"
done | sort -u | paste -sd, | sed 's/,/, /g')
echo "  Static-Built-Using: $(field Static-Built-Using)"
t_check deb_static_built_using "tug's NEEDED names $linked of them; got '$(field Static-Built-Using)', want '$want_sbu'" \
	[ "$linked" = 0 -a -n "$want_sbu" -a "$(field Static-Built-Using)" = "$want_sbu" ]

# The files, their modes and owners: exactly these.
want_files="./lib/systemd/system/tug-recover.service -rw-r--r--
./usr/sbin/tug -rwxr-xr-x
./usr/sbin/tug-full -rwxr-xr-x
./usr/share/doc/tug/README.md -rw-r--r--
./usr/share/doc/tug/changelog.gz -rw-r--r--
./usr/share/doc/tug/copyright -rw-r--r--
./usr/share/tug/lab -rwxr-xr-x
./usr/share/tug/lab.d/batch-job -rwxr-xr-x
./usr/share/tug/lab.d/blackbox.yml -rw-r--r--
./usr/share/tug/lab.d/gateway.py -rw-r--r--
./usr/share/tug/lab.d/runit.sh -rw-r--r--
./usr/share/tug/lab.d/systemd.sh -rw-r--r--
./usr/share/tug/lab.d/vllm-standin.py -rwxr-xr-x
./usr/share/tug/lab.d/worker.py -rwxr-xr-x
./usr/share/tug/lib/debroot.sh -rw-r--r--"
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6, $1 }' | sort)
owners=$(dpkg-deb -c "$deb" | awk '{ print $2 }' | sort -u | xargs)
t_check deb_file_list "got:
$files
want:
$want_files" [ "$files" = "$want_files" ]
t_check deb_owned_by_root "owners: $owners" [ "$owners" = root/root ]
unit="$x/lib/systemd/system/tug-recover.service"
t_check deb_recover_unit "$(cat "$unit")" \
	bash -c "grep -qx 'ExecStart=/usr/sbin/tug recover' '$unit' && ! grep -q @ '$unit'"
t_check deb_maintainer_scripts "$(ls "$x/DEBIAN")" \
	bash -c "sh -n '$x/DEBIAN/postinst' && sh -n '$x/DEBIAN/postrm' &&
		[ -x '$x/DEBIAN/postinst' ] && [ -x '$x/DEBIAN/postrm' ] &&
		grep -q tug-recover.service '$x/DEBIAN/postinst'"
syms=$(for b in tug tug-full; do readelf -S "$x/usr/sbin/$b" | grep -cE '\.symtab|\.debug_'; done | xargs)
echo "  sizes: $(stat -c '%n %s' "$TUG_BUILD/tug" "$x/usr/sbin/tug" | xargs); symbol/debug sections: $syms"
t_check deb_binaries_stripped "symbol or debug sections left: $syms" [ "$syms" = "0 0" ]

# The unpacked tug runs: its version is the Makefile's and the commit's, and
# a command it does not carry goes to the tug-full beside it.
want="tug $want_ver${commit:+ $commit} (libbpf "
ver=$("$x/usr/sbin/tug" --version 2>&1)
full_ver=$("$x/usr/sbin/tug-full" --version 2>&1)
echo "  tug --version: $ver; tug-full --version: $full_ver"
t_check deb_tug_version "got '$ver' and '$full_ver', want '$want...'" \
	bash -c "[[ '$ver' == '$want'* ]] && [ '$ver' = '$full_ver' ]"
# LeakSanitizer cannot run under ptrace: a sanitizer build is traced with
# its other checks only.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -e trace=execve -o "$T_TMP/strace" "$x/usr/sbin/tug" run --help >"$T_TMP/run-help" 2>&1
rc=$?
execs=$(grep -o 'execve("[^"]*"' "$T_TMP/strace" | sed 's/execve(//' | xargs)
echo "  tug run --help: rc=$rc, executed: $execs"
t_check deb_run_help_via_tug_full "rc=$rc, executed $execs: $(head -3 "$T_TMP/run-help")" \
	bash -c "[ $rc -eq 0 ] && grep -q '^usage: tug run' '$T_TMP/run-help' &&
		[ '$execs' = '$x/usr/sbin/tug $x/usr/sbin/tug-full' ]"

# What apt-get install ./tug_*.deb would do on a machine with nothing
# installed (an empty dpkg status, apt's caches not written): it must find
# every package Depends names in the archive and install tug with them.
if [ -n "$(apt-cache policy libc6 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v none)" ]; then
	: >"$T_TMP/empty-status"
	apt-get -s -o Dir::State::status="$T_TMP/empty-status" -o Dir::Cache::pkgcache= \
		-o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 install "$deb" >"$T_TMP/apt-sim" 2>&1
	rc=$?
	inst=$(awk '$1 == "Inst" { print $2 }' "$T_TMP/apt-sim" | sort -u)
	unpulled=$(comm -23 <(echo "$declared") <(echo "$inst") | xargs)
	echo "  apt-get -s install ./$(basename "$deb") on an empty system: rc=$rc, $(echo "$inst" | grep -c .) packages, Depends not pulled: ${unpulled:-none}"
	t_check deb_apt_pulls_depends "rc=$rc, not pulled: $unpulled: $(tail -5 "$T_TMP/apt-sim")" \
		bash -c "[ $rc -eq 0 ] && [ -z '$unpulled' ] && grep -qx tug <<<'$inst'"
else
	t_skip deb_apt_pulls_depends "apt has no package lists here (apt-get update)"
fi

# The maintainer scripts, for real, in a root of its own: dpkg --root with
# chrootless scripts sets DPKG_ROOT, which deb-systemd-helper honours, so the
# unit is enabled in that root and nothing of this host's is touched (the
# log too is the root's). Its libraries are this host's: --force-depends.
if command -v deb-systemd-helper >/dev/null; then
	r="$T_TMP/root"
	link=etc/systemd/system/multi-user.target.wants/tug-recover.service
	host_link_before=$(ls -l "/$link" 2>&1)
	mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" && touch "$r/var/lib/dpkg/status"
	dpkgr() { dpkg --root="$r" --log="$T_TMP/dpkg.log" --force-script-chrootless "$@" >>"$T_TMP/dpkg.out" 2>&1; }
	dpkgr --force-depends -i "$deb"
	rc=$?
	enabled=$(readlink "$r/$link")
	inst_ver=$("$r/usr/sbin/tug" --version 2>&1)
	echo "  dpkg --root -i: rc=$rc, $link -> $enabled, installed tug: $inst_ver"
	t_check deb_install_enables_recover "rc=$rc, link '$enabled': $(tail -5 "$T_TMP/dpkg.out")" \
		[ "$rc" -eq 0 -a "$enabled" = /lib/systemd/system/tug-recover.service -a "$inst_ver" = "$ver" ]
	dpkgr -P tug
	rc=$?
	left=$(cd "$r" && find . -path ./var/lib/dpkg -prune -o ! -type d -printf '%p ')
	echo "  dpkg --root -P: rc=$rc, left (files, links): ${left:-none}"
	t_check deb_purge_leaves_nothing "rc=$rc, left: $left" [ "$rc" -eq 0 -a -z "$left" ]
	t_check deb_host_untouched "/$link was '$host_link_before', is '$(ls -l "/$link" 2>&1)'" \
		[ "$host_link_before" = "$(ls -l "/$link" 2>&1)" ]
else
	t_skip deb_install_enables_recover "no deb-systemd-helper (init-system-helpers) on this host"
fi
