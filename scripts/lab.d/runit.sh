# tug lab, the runit kind (tug lab up --runit): every node's processes run
# on this host's filesystem, entered into the node's network namespace and
# cgroups; sshd, PostgreSQL, the gateway, Prometheus and the workers are
# supervised by runsv. Sourced by scripts/lab, which defines the nodes, the
# network, the keys and the common commands.

declare -gA SERVICES_OF=([db]="postgres" [gw]="gateway" [mon]="blackbox prometheus" [wk]="worker-1 worker-2")
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

kind_deps() {
	local missing=()
	for c in sshd runsv sv /usr/bin/python3 prometheus prometheus-blackbox-exporter curl; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ -n "$PGBIN" ] || missing+=(postgresql)
	/usr/bin/python3 -c 'import uvicorn, fastapi, psycopg2' 2>/dev/null || missing+=(python3-uvicorn/fastapi/psycopg2)
	[ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}; run scripts/install-deps"
}

kind_cgroup_dirs() { echo memory cpu freezer pids; }

runit_sshd() {
	mkdir -p /run/sshd
	cp "$LAB/ssh/id_ed25519.pub" "$LAB/ssh/authorized_keys"
	for n in "${NODES[@]}"; do
		local d="$LAB/$n"
		cat >"$d/sshd_config" <<EOF
ListenAddress ${ADDR[$n]}
Port 22
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $LAB/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# Each node keeps its own journal, as a machine of its own would: a fault on
# one node (or on this host) is not "live" on another, and revert --all on
# one node ends that node's faults only.
SetEnv TUG_LAB_NODE=$n TUG_RUN_DIR=$d/run TUG_STATE_DIR=$d/state
EOF
		if ! { [ -f "$d/sshd.pid" ] && kill -0 "$(cat "$d/sshd.pid")" 2>/dev/null; }; then
			# Sessions run commands through root's shell, which reads
			# ~/.bashrc; an operator's rc file (a pyenv init, say) has no
			# business in the lab and can stall every command. sshd gets a
			# private mount namespace where it reads as empty.
			: >"$LAB/ssh/empty.rc"
			spawn "$n" "$d/sshd.log" unshare --mount --propagation private sh -c \
				'for rc in /root/.bashrc /root/.profile; do [ -f "$rc" ] && mount --bind "$0" "$rc"; done; exec "$@"' \
				"$LAB/ssh/empty.rc" /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" >/dev/null
		fi
	done
}

pg_init() {
	local d="$LAB/db"
	[ -f "$d/data/PG_VERSION" ] && return 0
	mkdir -p "$d/data" "$d/sock"
	chown postgres: "$d" "$d/data" "$d/sock"
	runuser -u postgres -- test -x "$d" ||
		die "the postgres user cannot reach $d: make the parents of $LAB traversable (chmod o+x) or set TUG_LAB_DIR"
	# Passwords are generated here and live only in a 0600 password file.
	umask 077
	local gwpw tugpw
	gwpw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	tugpw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	printf '%s:5432:*:gateway:%s\n%s:5432:*:tug:%s\n' "${ADDR[db]}" "$gwpw" "${ADDR[db]}" "$tugpw" >"$LAB/pgpass"
	cp "$LAB/pgpass" "$d/pgpass.gw"
	umask 022
	runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -A peer --auth-host=scram-sha-256 -U postgres >/dev/null
	cat >>"$d/data/postgresql.conf" <<EOF
listen_addresses = '${ADDR[db]}'
port = 5432
max_connections = 20
superuser_reserved_connections = 3
unix_socket_directories = '$d/sock'
fsync = on
EOF
	echo "host all all $NET.0/24 scram-sha-256" >>"$d/data/pg_hba.conf"
	# Set up roles and tables over the unix socket, before the network is open.
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -o "-c listen_addresses=''" -w -s start >/dev/null
	runuser -u postgres -- psql -q -h "$d/sock" -d postgres -v ON_ERROR_STOP=1 \
		-v gwpw="$gwpw" -v tugpw="$tugpw" <<'EOF' >/dev/null
CREATE ROLE gateway LOGIN PASSWORD :'gwpw';
CREATE ROLE tug LOGIN PASSWORD :'tugpw';
CREATE DATABASE lab OWNER gateway;
CREATE DATABASE tug OWNER tug;
\c lab
CREATE EXTENSION IF NOT EXISTS amcheck;
GRANT EXECUTE ON FUNCTION bt_index_check(regclass) TO gateway;
GRANT EXECUTE ON FUNCTION bt_index_check(regclass, boolean) TO gateway;
GRANT pg_read_all_stats TO tug;
SET ROLE gateway;
CREATE TABLE markers (id bigserial PRIMARY KEY, run text NOT NULL, note text,
                      created timestamptz NOT NULL DEFAULT now());
EOF
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -w -s stop >/dev/null
}

write_services() {
	local sv="$LAB/sv"
	mkdir -p "$sv" "$LAB/gw/app" "$LAB/mon/prom" "$LAB/wk"
	mksv() {	# name user run-body
		mkdir -p "$sv/$1"
		printf '#!/bin/sh\nexec 2>&1\n%s\n' "$2" >"$sv/$1/run"
		chmod +x "$sv/$1/run"
	}
	mksv postgres "exec chpst -u postgres $PGBIN/postgres -D $LAB/db/data"
	chown postgres: "$LAB/db/pgpass.gw"
	cp "$here/lab.d/gateway.py" "$LAB/gw/app/gateway.py"
	mksv gateway "export GW_DSN='host=${ADDR[db]} dbname=lab user=gateway' PGPASSFILE=$LAB/gw/pgpass
exec /usr/bin/python3 -m uvicorn gateway:app --app-dir $LAB/gw/app --host ${ADDR[gw]} --port 8000 --log-level warning"
	cp "$LAB/pgpass" "$LAB/gw/pgpass"
	chmod 600 "$LAB/gw/pgpass"
	cp "$here/lab.d/blackbox.yml" "$LAB/mon/blackbox.yml"
	{
		printf 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n'
		prom_scrape "${ADDR[mon]}:9115" "'http://${ADDR[gw]}:8000/health'"
	} >"$LAB/mon/prometheus.yml"
	mksv blackbox "exec prometheus-blackbox-exporter --config.file=$LAB/mon/blackbox.yml --web.listen-address=${ADDR[mon]}:9115"
	mksv prometheus "exec prometheus --config.file=$LAB/mon/prometheus.yml --storage.tsdb.path=$LAB/mon/prom --web.listen-address=${ADDR[mon]}:9090 --storage.tsdb.retention.time=1h"
	# A batch job as workers run them: allocates and touches MB mebibytes,
	# then exits 0. It marks itself the preferred OOM victim (oom_score_adj
	# 1000, as batch work usually is), so a squeezed node kills it first.
	cp "$here/lab.d/batch-job" "$LAB/wk/batch-job"
	chmod 755 "$LAB/wk/batch-job"
	cp "$here/lab.d/worker.py" "$LAB/wk/lab-worker"
	for w in worker-1 worker-2; do
		mksv "$w" "exec /usr/bin/python3 $LAB/wk/lab-worker $LAB/wk/$w.beat"
	done
}

services_up() {
	for n in "${NODES[@]}"; do
		for s in ${SERVICES_OF[$n]}; do
			local dir="$LAB/sv/$s"
			if [ -f "$dir/runsv.pid" ] && kill -0 "$(cat "$dir/runsv.pid")" 2>/dev/null; then
				continue
			fi
			spawn "$n" "$LAB/$n/runsv-$s.log" runsv "$dir" >"$dir/runsv.pid"
		done
	done
}


kind_up() {
	local n
	for n in "${NODES[@]}"; do
		mkdir -p "$LAB/$n/scratch"
		mountpoint -q "$LAB/$n/scratch" || mount -t tmpfs -o size=64m,mode=0755 "tuglab-$n" "$LAB/$n/scratch"
	done
	runit_sshd
	say "sshd on every node; key $LAB/ssh/id_ed25519, known_hosts $LAB/ssh/known_hosts"
	pg_init
	write_services
	services_up
}

kind_summary() {
	echo "postgres ${ADDR[db]}:5432, gateway http://${ADDR[gw]}:8000/health, prometheus http://${ADDR[mon]}:9090, blackbox ${ADDR[mon]}:9115, workers on ${ADDR[wk]} (runit)"
}

# Supervisors first, so nothing restarts what the common part kills.
kind_stop() {
	local n s
	for n in "${NODES[@]}"; do
		for s in ${SERVICES_OF[$n]}; do
			[ -d "$LAB/sv/$s" ] && sv -w 5 force-stop "$LAB/sv/$s" >/dev/null 2>&1 || true
			kill_pidfile "$LAB/sv/$s/runsv.pid"
		done
		kill_pidfile "$LAB/$n/sshd.pid"
	done
}

kind_unmount() {
	local n
	for n in "${NODES[@]}"; do
		mountpoint -q "$LAB/$n/scratch" 2>/dev/null && umount -l "$LAB/$n/scratch"
	done
	return 0
}

kind_sshd_up() {	# node
	[ -f "$LAB/$1/sshd.pid" ] && kill -0 "$(cat "$LAB/$1/sshd.pid")" 2>/dev/null
}

kind_services() {	# node: "name:state ..." ; fails when one is not running
	local s st line="" bad=0
	for s in ${SERVICES_OF[$1]}; do
		st=$(sv status "$LAB/sv/$s" 2>/dev/null | cut -d: -f1 || true)
		line+="$s:${st:-down} "
		[ "$st" = run ] || bad=1
	done
	echo "$line"
	return $bad
}
