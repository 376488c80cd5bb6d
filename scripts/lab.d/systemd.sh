# tug lab, the systemd kind (the default): each node is a Debian 12 machine
# booted with systemd as PID 1 by systemd-nspawn, joined to the node's
# network namespace. Its root is one cached Debian root (debootstrap, then
# Debian's packages) under an overlay of the node's own; tug is installed in
# it from the Debian package (make deb) over the node's sshd, the way an
# operator installs a fleet; its services are Debian's units and the lab's:
#
#   db   postgresql@15-main.service (as shipped, plus a restart drop-in:
#        TUG_LAB_PG_RESTART=no leaves the unit as Debian ships it)
#   gw   llm-gateway.service (Restart=always), vllm.service (a stand-in
#        that recovers only by hand: Restart=no)
#   mon  prometheus, prometheus-blackbox-exporter, prometheus-alertmanager
#        (alerts GatewayDown, DatabaseDown, VllmDown)
#   wk   it-triad, executive-jr-autonomic, memory-jr-autonomic,
#        ganuda-heartbeat (Restart=always); a 64M scratch tmpfs at /srv/scratch
#
# Resource faults inside a node: this host binds memory, cpu and freezer to
# cgroup v1, so a container's v2 hierarchy has no memory controller, and
# nspawn mounts the v1 controllers read-only. Each machine's PID 1 is first
# tug-node-init, which remounts the machine's own v1 subtrees (its cgroup
# namespace root is the node's cgroup, tuglab/NODE) writable and then execs
# systemd, so systemd makes a memory, cpu and freezer cgroup per unit and tug
# in the node writes their knobs. Nothing above the node's subtree is
# reachable from inside. Pure cgroup v2 with systemd, as Debian hosts run it,
# is proven by the Debian guests (scripts/vm, docs/KERNELS.md).

ROOT_REL=bookworm
ROOT_DIR=${TUG_LAB_ROOT_CACHE:-/var/cache/tug/lab}/$ROOT_REL
# Bump to rebuild the cached root (a change of its packages or setup).
ROOT_VERSION=2
PGVER=15
. "$here/lib/debroot.sh"

NODE_PKGS=(
	systemd-sysv dbus openssh-server postgresql
	prometheus prometheus-blackbox-exporter prometheus-alertmanager
	python3 python3-fastapi python3-uvicorn python3-psycopg2
	iproute2 iputils-ping procps psmisc curl util-linux
	# what the tug package depends on, so installing it needs no network
	# inside a node (apt-get resolves from what is installed)
	libbpf1 libnl-3-200 libnl-route-3-200 libnl-idiag-3-200 libjson-c5 libseccomp2
	libpq5 libcurl4 libssh2-1 libyaml-0-2
	# ... and a sanitizer build's (make check SAN=1 tests its own package)
	libasan8 libubsan1
)
declare -gA UNITS_OF=(
	[db]="postgresql@$PGVER-main.service"
	[gw]="llm-gateway.service vllm.service"
	[mon]="prometheus.service prometheus-blackbox-exporter.service prometheus-alertmanager.service"
	[wk]="it-triad.service executive-jr-autonomic.service memory-jr-autonomic.service ganuda-heartbeat.service"
)
# The whole machine (its systemd, journal and logins too) stays within 512M
# of the host's memory; its services within 256M (system.slice, below).
MEMLIMIT[wk]=$((512 << 20))
WORKERS="it-triad executive-jr-autonomic memory-jr-autonomic ganuda-heartbeat"

# The package to install in the nodes: TUG_LAB_DEB, or the newest one
# beside the tug that runs the lab (make deb writes it there).
lab_deb() {
	local d
	if [ -n "${TUG_LAB_DEB:-}" ]; then
		echo "$TUG_LAB_DEB"
		return
	fi
	d=$(ls -t "$(dirname "${TUG:-/nonexistent}")"/tug_*.deb 2>/dev/null | head -1 || true)
	echo "$d"
}

kind_deps() {
	local missing=()
	for c in systemd-nspawn debootstrap unshare; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}; run scripts/install-deps"
	DEB=$(lab_deb)
	[ -n "$DEB" ] && [ -f "$DEB" ] ||
		die "no tug package to install in the nodes: 'make deb' builds one beside tug (or set TUG_LAB_DEB)"
}

# memory, cpu, freezer and pids for the faults; name=systemd (on a hybrid
# host) so each machine's systemd gets its own subtree there too.
kind_cgroup_dirs() { echo memory cpu freezer pids systemd; }

# The cached root, built once per ROOT_VERSION (about a minute from a
# nearby mirror), one builder at a time.
root_build() {
	local t0 r="$ROOT_DIR/root"
	mkdir -p "$ROOT_DIR"
	exec 8>"$ROOT_DIR.lock"
	flock 8
	if [ -f "$ROOT_DIR/stamp" ] && [ "$(cat "$ROOT_DIR/stamp")" = "$ROOT_VERSION" ]; then
		exec 8>&-
		return 0
	fi
	t0=$(date +%s)
	say "building the nodes' Debian $ROOT_REL root in $ROOT_DIR (once; ${#NODE_PKGS[@]} packages)"
	rm -rf "$r" "$ROOT_DIR/stamp"
	mkdir -p "$r"
	debroot "$ROOT_REL" "$r" "$ROOT_DIR" "${NODE_PKGS[@]}"
	# Each node enables its own units; the packages' units start nowhere
	# unless asked. Host keys are made per node, never shared.
	chroot "$r" systemctl disable postgresql.service prometheus.service \
		prometheus-blackbox-exporter.service prometheus-alertmanager.service >/dev/null 2>&1
	chroot "$r" systemctl set-default multi-user.target >/dev/null 2>&1
	chroot "$r" useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin llm-gateway
	rm -f "$r"/etc/ssh/ssh_host_*
	# No password for root at all (not an empty one): SSH keys only.
	sed -i 's/^root:[^:]*:/root:*:/' "$r/etc/shadow"
	echo "$ROOT_VERSION" >"$ROOT_DIR/stamp"
	say "root built in $(($(date +%s) - t0)) s"
	exec 8>&-
}

# Write a unit (or any file) into a node's root.
put() {	# node path mode < content
	local f="$LAB/$1/root$2"
	mkdir -p "$(dirname "$f")"
	cat >"$f"
	chmod "$3" "$f"
}

node_files_common() {	# node
	local n=$1 r="$LAB/$1/root"
	echo "$n" | put "$n" /etc/hostname 644
	printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost\n' "$n" | put "$n" /etc/hosts 644
	put "$n" /usr/local/sbin/tug-node-init 755 <<'EOF'
#!/bin/sh
# PID 1 of a lab node, before systemd: the node's own cgroup v1 subtrees
# (the cgroup namespace's root) become writable, so systemd gives every unit
# its own memory, cpu and freezer cgroup and tug can set their knobs.
for c in /sys/fs/cgroup/*; do
	[ -d "$c" ] && [ ! -L "$c" ] && mountpoint -q "$c" &&
		mount -o remount,bind,rw,nosuid,nodev,noexec "$c" 2>/dev/null
done
exec /lib/systemd/systemd "$@"
EOF
	install -m 0600 "$LAB/$n/ssh_host_ed25519_key" "$r/etc/ssh/ssh_host_ed25519_key"
	install -m 0644 "$LAB/$n/ssh_host_ed25519_key.pub" "$r/etc/ssh/ssh_host_ed25519_key.pub"
	put "$n" /etc/ssh/sshd_config.d/tug-lab.conf 644 <<EOF
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
SetEnv TUG_LAB_NODE=$n
EOF
	mkdir -p -m 0700 "$r/root/.ssh"
	install -m 0600 "$LAB/ssh/id_ed25519.pub" "$r/root/.ssh/authorized_keys"
	install -m 0600 "$LAB/pgpass" "$r/root/.pgpass"
	# Root's rc files stay quiet: sessions of the orchestrator parse output.
	: | put "$n" /root/.hushlogin 644
}

node_files_db() {
	local c=/etc/postgresql/$PGVER/main
	put db "$c/conf.d/lab.conf" 644 <<EOF
listen_addresses = '${ADDR[db]},localhost'
max_connections = 20
superuser_reserved_connections = 3
fsync = on
EOF
	grep -q "^host all all $NET.0/24" "$LAB/db/root$c/pg_hba.conf" ||
		echo "host all all $NET.0/24 scram-sha-256" >>"$LAB/db/root$c/pg_hba.conf"
	# Debian's postgresql@.service has no Restart=: a crashed postmaster
	# stays down. The runbook assumes systemd brings it back; the lab says
	# so with a drop-in, unless asked to run the unit as shipped.
	if [ "${TUG_LAB_PG_RESTART:-yes}" = no ]; then
		rm -f "$LAB/db/root/etc/systemd/system/postgresql@.service.d/restart.conf"
	else
		put db "/etc/systemd/system/postgresql@.service.d/restart.conf" 644 <<'EOF'
# tug lab: what the runbook assumes of the database unit.
[Service]
Restart=on-failure
RestartSec=1s
EOF
	fi
	[ -f "$LAB/db/initialized" ] && return 0
	# Roles and tables, run once by postgres over the unix socket after boot;
	# the passwords come from the lab's password file, never from a command
	# line.
	local gwpw tugpw
	gwpw=$(awk -F: '$4 == "gateway" { print $5 }' "$LAB/pgpass")
	tugpw=$(awk -F: '$4 == "tug" { print $5 }' "$LAB/pgpass")
	put db /root/lab-init.sql 600 <<EOF
\\set ON_ERROR_STOP on
\\set gwpw '$gwpw'
\\set tugpw '$tugpw'
CREATE ROLE gateway LOGIN PASSWORD :'gwpw';
CREATE ROLE tug LOGIN PASSWORD :'tugpw';
CREATE DATABASE lab OWNER gateway;
CREATE DATABASE tug OWNER tug;
\\c lab
CREATE EXTENSION IF NOT EXISTS amcheck;
GRANT EXECUTE ON FUNCTION bt_index_check(regclass) TO gateway;
GRANT EXECUTE ON FUNCTION bt_index_check(regclass, boolean) TO gateway;
GRANT pg_read_all_stats TO tug;
SET ROLE gateway;
CREATE TABLE markers (id bigserial PRIMARY KEY, run text NOT NULL, note text,
                      created timestamptz NOT NULL DEFAULT now());
EOF
}

node_files_gw() {
	put gw /opt/llm-gateway/gateway.py 644 <"$here/lab.d/gateway.py"
	put gw /usr/local/bin/vllm-standin 755 <"$here/lab.d/vllm-standin.py"
	grep -v '^#' "$LAB/pgpass" | put gw /etc/llm-gateway/pgpass 600
	chroot "$LAB/gw/root" chown llm-gateway: /etc/llm-gateway/pgpass
	# Restart=always with RestartSec=2s: the runbook's "auto-restart within
	# 5 s, active within 30 s" leaves room for the gateway's start.
	put gw /etc/systemd/system/llm-gateway.service 644 <<EOF
[Unit]
Description=LLM gateway (FastAPI under uvicorn)
After=network.target

[Service]
User=llm-gateway
Environment="GW_DSN=host=${ADDR[db]} dbname=lab user=gateway" PGPASSFILE=/etc/llm-gateway/pgpass
ExecStart=/usr/bin/python3 -m uvicorn gateway:app --app-dir /opt/llm-gateway --host ${ADDR[gw]} --port 8000 --log-level warning
Restart=always
RestartSec=2s

[Install]
WantedBy=multi-user.target
EOF
	# The runbook's vLLM recovers by hand: monitoring must see it down and
	# keep the alert firing until someone runs the documented step.
	put gw /etc/systemd/system/vllm.service 644 <<EOF
[Unit]
Description=vLLM stand-in (manual recovery: systemctl start vllm.service)
Documentation=file:///usr/share/doc/tug/RUNBOOK-vllm
After=network.target

[Service]
DynamicUser=yes
ExecStart=/usr/local/bin/vllm-standin ${ADDR[gw]} 8001
Restart=no

[Install]
WantedBy=multi-user.target
EOF
}

node_files_mon() {
	{
		printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
		printf 'rule_files: [/etc/prometheus/rules/lab.yml]\nalerting:\n  alertmanagers:\n'
		printf "    - static_configs: [ { targets: ['127.0.0.1:9093'] } ]\n"
		prom_scrape 127.0.0.1:9115 "'http://${ADDR[gw]}:8000/health', 'http://${ADDR[gw]}:8001/health'"
	} | put mon /etc/prometheus/prometheus.yml 644
	put mon /etc/prometheus/rules/lab.yml 644 <<EOF
groups:
  - name: lab
    rules:
      - alert: GatewayDown
        expr: probe_success{job="blackbox_http", instance="http://${ADDR[gw]}:8000/health"} == 0
        for: 2s
        labels: { severity: critical, service: llm-gateway }
        annotations: { summary: "the gateway's /health fails" }
      - alert: VllmDown
        expr: probe_success{job="blackbox_http", instance="http://${ADDR[gw]}:8001/health"} == 0
        for: 2s
        labels: { severity: critical, service: vllm, recovery: manual }
        annotations: { summary: "vLLM is down; recovery: systemctl start vllm.service on gw" }
      - alert: DatabaseDown
        expr: probe_success{job="blackbox_tcp", instance="${ADDR[db]}:5432"} == 0
        for: 2s
        labels: { severity: critical, service: postgresql }
        annotations: { summary: "PostgreSQL does not accept connections" }
EOF
	put mon /etc/prometheus/blackbox.yml 644 <"$here/lab.d/blackbox.yml"
	put mon /etc/prometheus/alertmanager.yml 644 <<'EOF'
route:
  receiver: lab
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: lab
EOF
	echo 'ARGS="--storage.tsdb.retention.time=1h"' | put mon /etc/default/prometheus 644
	# One Alertmanager, no cluster to gossip with.
	echo 'ARGS="--cluster.listen-address="' | put mon /etc/default/prometheus-alertmanager 644
}

node_files_wk() {
	local w
	# The services' share of the node: what the memory experiment squeezes.
	printf '[Slice]\nMemoryMax=256M\n' | put wk /etc/systemd/system/system.slice.d/lab.conf 644
	put wk /usr/local/bin/batch-job 755 <"$here/lab.d/batch-job"
	put wk /usr/local/bin/lab-worker 755 <"$here/lab.d/worker.py"
	for w in $WORKERS; do
		put wk "/etc/systemd/system/$w.service" 644 <<EOF
[Unit]
Description=federation worker $w
After=network.target

[Service]
RuntimeDirectory=$w
ExecStart=/usr/local/bin/lab-worker /run/$w/beat
Restart=always
RestartSec=1s

[Install]
WantedBy=multi-user.target
EOF
	done
}

node_root() {	# node: the overlay and the node's own files
	local n=$1 d="$LAB/$1"
	mkdir -p "$d/upper" "$d/work" "$d/root"
	mountpoint -q "$d/root" ||
		mount -t overlay "tuglab-$n" -o "lowerdir=$ROOT_DIR/root,upperdir=$d/upper,workdir=$d/work" "$d/root"
	node_files_common "$n"
	"node_files_$n"
	chroot "$d/root" systemctl enable ssh.service ${UNITS_OF[$n]} >/dev/null 2>&1 ||
		die "$n: cannot enable ${UNITS_OF[$n]}"
}

machine_running() { [ -f "$LAB/$1/machine.pid" ] && kill -0 "$(cat "$LAB/$1/machine.pid")" 2>/dev/null; }

# Boot a node's machine. A reboot inside it ends systemd-nspawn with 133;
# the loop boots it again, as a host's firmware would.
machine_boot() {	# node
	local n=$1
	machine_running "$n" && return 0
	spawn "$n" "$LAB/$n/console.log" /bin/sh -c '
		while :; do
			systemd-nspawn --quiet --register=no --keep-unit --console=passive \
				--directory="$1" --machine="tuglab-$2" --hostname="$2" \
				--network-namespace-path="/run/netns/tuglab-$2" \
				--capability=all --system-call-filter="bpf perf_event_open" \
				--kill-signal=SIGRTMIN+3 --tmpfs=/srv/scratch:size=64m,mode=0755 \
				--resolv-conf=off --timezone=off --link-journal=no \
				/usr/local/sbin/tug-node-init
			rc=$?
			[ "$rc" -eq 133 ] || exit "$rc"
			echo "tuglab: $2 rebooted"
		done' machine "$LAB/$n/root" "$n" >"$LAB/$n/machine.pid"
}

wait_ssh() {	# seconds node...
	local end=$(($(date +%s) + $1)) n
	shift
	for n in "$@"; do
		until node_ssh "$n" true 2>/dev/null; do
			machine_running "$n" || die "$n: its machine exited; see $LAB/$n/console.log"
			[ "$(date +%s)" -lt "$end" ] ||
				die "$n: no SSH answer within the bound; see $LAB/$n/console.log"
			sleep 0.3
		done
	done
}

# The operator's way: copy the package over SSH, apt-get install it. Its
# dependencies are in the root already, so no node needs a network beyond
# the lab's.
install_tug() {	# node
	local n=$1 want
	want=$(dpkg-deb -f "$DEB" Version)
	[ "$(node_ssh "$n" "dpkg-query -W -f='\${Version}' tug 2>/dev/null" || true)" = "$want" ] &&
		cmp -s <(node_ssh "$n" 'cat /usr/sbin/tug') <(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/sbin/tug) &&
		return 0
	node_ssh "$n" 'cat >/root/tug.deb' <"$DEB" &&
		node_ssh "$n" 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/tug.deb >/root/tug-install.log 2>&1 && rm -f /root/tug.deb' ||
		die "$n: apt-get install of $(basename "$DEB") failed: $(node_ssh "$n" 'tail -5 /root/tug-install.log' 2>&1)"
}

kind_up() {
	local n pids=() ok=1 p
	root_build
	# The password file: made once, read by the db node's setup and the
	# orchestrator; passwords are generated, never written in a script.
	if [ ! -f "$LAB/pgpass" ]; then
		local gwpw tugpw
		gwpw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
		tugpw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
		(umask 077; printf '%s:5432:*:gateway:%s\n%s:5432:*:tug:%s\n' "${ADDR[db]}" "$gwpw" "${ADDR[db]}" "$tugpw" >"$LAB/pgpass")
	fi
	for n in "${NODES[@]}"; do
		machine_running "$n" && continue
		node_root "$n"
		machine_boot "$n"
	done
	wait_ssh 90 "${NODES[@]}"
	say "every node booted (systemd as PID 1) and answers SSH; key $LAB/ssh/id_ed25519, known_hosts $LAB/ssh/known_hosts"
	for n in "${NODES[@]}"; do
		install_tug "$n" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || ok=0; done
	[ "$ok" -eq 1 ] || die "tug could not be installed on every node"
	say "tug $(dpkg-deb -f "$DEB" Version) installed on every node from $(basename "$DEB")"
	if [ ! -f "$LAB/db/initialized" ]; then
		node_ssh db "cd / && until pg_isready -q; do sleep 0.2; done; runuser -u postgres -- psql -X -q -d postgres </root/lab-init.sql >/dev/null && rm -f /root/lab-init.sql" ||
			die "db: the database setup failed"
		touch "$LAB/db/initialized"
	fi
}

kind_summary() {
	echo "postgresql@$PGVER-main ${ADDR[db]}:5432, llm-gateway http://${ADDR[gw]}:8000/health, vllm :8001, prometheus http://${ADDR[mon]}:9090, alertmanager :9093, workers on ${ADDR[wk]} (systemd machines; tug lab exec NODE -- CMD)"
}

# A clean shutdown first, as a host's would be: SIGTERM makes nspawn send
# its machine SIGRTMIN+3 (systemd powers off) and remove its lock and
# propagation directory when it ends. The boot loops go first, so nothing
# boots again. What is still running after 10 s, the common part kills.
kind_stop() {
	local n loop m pids=() left
	for n in "${NODES[@]}"; do
		[ -f "$LAB/$n/machine.pid" ] || continue
		loop=$(cat "$LAB/$n/machine.pid")
		m=$(pgrep -P "$loop" -x systemd-nspawn || true)
		kill -KILL "$loop" 2>/dev/null || true
		[ -n "$m" ] && kill -TERM "$m" 2>/dev/null && pids+=("$m")
	done
	for _ in $(seq 100); do
		left=0
		for m in "${pids[@]}"; do kill -0 "$m" 2>/dev/null && left=1; done
		[ "$left" -eq 0 ] && break
		sleep 0.1
	done
	return 0
}

# What nspawn keeps under /run for a machine it could not end cleanly
# (killed): the lock of its root directory and its propagation directory.
NSPAWN_RUN=/run/systemd/nspawn
kind_unmount() {
	local n r
	for n in "${NODES[@]}"; do
		r="$LAB/$n/root"
		if mountpoint -q "$r" 2>/dev/null; then
			rm -f "$NSPAWN_RUN/locks/inode-$(stat -c '%d:%i' "$r")"
			umount "$r" 2>/dev/null || umount -l "$r" 2>/dev/null
		fi
		rm -rf "$NSPAWN_RUN/propagate/tuglab-$n"
	done
	rmdir "$NSPAWN_RUN/locks" "$NSPAWN_RUN/propagate" "$NSPAWN_RUN" 2>/dev/null || true
	return 0
}

kind_sshd_up() { node_ssh "$1" true 2>/dev/null; }

kind_services() {	# node: "unit:state ..."; fails when one is not active
	local st line="" bad=0 u
	st=$(node_ssh "$1" "systemctl is-active ${UNITS_OF[$1]}" 2>/dev/null || true)
	set -- ${UNITS_OF[$1]}
	for u in $st; do
		line+="${1%.service}:$u "
		[ "$u" = active ] || bad=1
		shift
	done
	[ -n "$st" ] || { line="unreachable"; bad=1; }
	echo "$line"
	return $bad
}
