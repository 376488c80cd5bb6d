#!/usr/bin/env bash
# make install into a DESTDIR: the binary, and a tug-recover.service that
# runs the installed tug's 'recover' once at boot.
. "$(dirname "$0")/../lib.sh"

root="$T_TMP/root"
make -C "$TUG_TOP" -s install DESTDIR="$root" PREFIX=/usr ${TUG_SAN:+SAN=1} >"$T_TMP/install.log" 2>&1
rc=$?
unit="$root/usr/lib/systemd/system/tug-recover.service"
t_check install_exit_0 "rc=$rc: $(cat "$T_TMP/install.log")" [ "$rc" -eq 0 ]
t_check install_binary "$(find "$root" -type f)" test -x "$root/usr/sbin/tug"
t_check install_recover_unit "$(cat "$unit" 2>/dev/null)" \
	bash -c "grep -qx 'Type=oneshot' '$unit' && grep -qx 'ExecStart=/usr/sbin/tug recover' '$unit' &&
		grep -qx 'WantedBy=multi-user.target' '$unit' && ! grep -q @ '$unit'"
# --version names the release from the Makefile and the libbpf the binary runs with.
want=$(sed -n 's/^VERSION := //p' "$TUG_TOP/Makefile")
ver=$("$root/usr/sbin/tug" --version 2>&1)
t_check version_names_release "got '$ver', Makefile says $want" \
	bash -c "[[ '$ver' =~ ^tug\ $want(\ [0-9a-f]{12})?\ \(libbpf\ [0-9]+\.[0-9]+\)$ ]]"
