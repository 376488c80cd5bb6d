#!/usr/bin/env bash
# DNS answers for one service: tug net dns-fail --answer ADDRESS against the
# way it is scripted today without tug, an iptables DNAT of the cgroup's
# port 53 (-m cgroup --path) to a fake DNS server, side by side in one run.
# Prints a markdown section on stdout; progress on stderr.
#
#   1. onset (command -> first faked answer) and heal (deadline or rule
#      removal -> first real answer), a prober in the cgroup asking every
#      2 ms, a new socket each time (as glibc does);
#   2. what a SIGKILL of the tool leaves;
#   3. lookup latency under the fault (median and p99).
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
DNSD="$TUG_BUILD/tests/dnsd"
REPS=${REPS:-5}
FAKE=10.200.9.77 REAL=10.200.9.9
tmp=$(mktemp -d)
root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CG="$root/tugbench-dns"
pids=()
# Only this rule is ever added or deleted: the nat table may hold others'.
dnat() { iptables -w -t nat "$1" OUTPUT -m cgroup --path "${CG#"$root"/}" -p udp -d 127.0.0.153 --dport 53 -j DNAT --to-destination 127.0.0.154:53; }
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	while dnat -D 2>/dev/null; do :; done
	[ -d "$CG" ] && { xargs -r kill 2>/dev/null <"$CG/cgroup.procs" || true; rmdir "$CG" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT
log() { echo "bench dns: $*" >&2; }
now_ms() { date +%s%3N; }
mkdir -p "$CG"

# The real server on 127.0.0.153, the fake one iptables sends to on 127.0.0.154.
"$DNSD" 127.0.0.153 53 "$REAL" >"$tmp/real.out" & pids+=($!)
"$DNSD" 127.0.0.154 53 "$FAKE" >"$tmp/fake.out" & pids+=($!)
sleep 0.3
grep -q ready "$tmp/real.out" && grep -q ready "$tmp/fake.out"

cat >"$tmp/prober.py" <<'EOF'
# Ask the server every 2 ms for SECS seconds, a new socket each time; print
# "SEND_MS ANSWER LATENCY_US" a query (ANSWER "-" when none within 50 ms).
import random, socket, struct, sys, time
secs = float(sys.argv[1])
q = struct.pack(">HHHHHH", 0, 0x0100, 1, 0, 0, 0) + b"\x03svc\x03tug\x04test\x00" + struct.pack(">HH", 1, 1)
end = time.time() + secs
out = []
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    qid = random.randrange(65536)
    t0 = time.time()
    try:
        s.sendto(struct.pack(">H", qid) + q[2:], ("127.0.0.153", 53))
        r, _ = s.recvfrom(512)
        lat = (time.time() - t0) * 1e6
        a = socket.inet_ntoa(r[-4:]) if struct.unpack(">H", r[6:8])[0] else "empty"
    except OSError:
        a, lat = "-", 0
    s.close()
    out.append("%.3f %s %d" % (t0 * 1000, a, lat))
    time.sleep(0.002)
print("\n".join(out))
EOF
probe() { sh -c 'echo $$ >"$0/cgroup.procs" && exec /usr/bin/python3 "$1" "$2"' "$CG" "$tmp/prober.py" "$1"; }
# first TRACE T0 ANSWER: ms from T0 to the first query sent after T0 answered ANSWER
first() { awk -v t0="$2" -v want="$3" '$1 >= t0 && $2 == want { printf "%.1f\n", $1 - t0; exit }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p99() { sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print v[i] }'; }

log "onset/heal: $REPS rounds each"
: >"$tmp/tug_on"; : >"$tmp/tug_att"; : >"$tmp/tug_off"; : >"$tmp/ipt_on"; : >"$tmp/ipt_off"
: >"$tmp/tug_lat"; : >"$tmp/ipt_lat"; : >"$tmp/base_lat"
for r in $(seq "$REPS"); do
	probe 1.4 >"$tmp/trace" & pt=$!
	sleep 0.3
	t0=$(now_ms)
	"$TUG" net dns-fail --cgroup "$CG" --answer "$FAKE" --for 500ms --json >"$tmp/out"
	wait "$pt"
	applied=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"ts_ms":\([0-9]*\).*/\1/p')
	deadline=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"deadline_ms":\([0-9]*\).*/\1/p')
	first "$tmp/trace" "$t0" "$FAKE" >>"$tmp/tug_on"
	first "$tmp/trace" "$applied" "$FAKE" >>"$tmp/tug_att"
	first "$tmp/trace" "$deadline" "$REAL" >>"$tmp/tug_off"
	awk -v a="$applied" -v d="$deadline" -v f="$FAKE" '$1 > a && $1 < d && $2 == f { print $3 }' "$tmp/trace" >>"$tmp/tug_lat"
	awk -v t="$t0" -v r="$REAL" '$1 < t && $2 == r { print $3 }' "$tmp/trace" >>"$tmp/base_lat"

	probe 1.4 >"$tmp/trace" & pt=$!
	sleep 0.3
	t0=$(now_ms)
	dnat -A
	sleep 0.5
	t1=$(now_ms)
	dnat -D
	wait "$pt"
	first "$tmp/trace" "$t0" "$FAKE" >>"$tmp/ipt_on"
	first "$tmp/trace" "$t1" "$REAL" >>"$tmp/ipt_off"
	awk -v a="$t0" -v d="$t1" -v f="$FAKE" '$1 > a + 50 && $1 < d && $2 == f { print $3 }' "$tmp/trace" >>"$tmp/ipt_lat"
done
tug_on=$(median <"$tmp/tug_on") tug_att=$(median <"$tmp/tug_att") tug_off=$(median <"$tmp/tug_off")
ipt_on=$(median <"$tmp/ipt_on") ipt_off=$(median <"$tmp/ipt_off")

log "SIGKILL of the tool"
probe 1.5 >"$tmp/trace" & pt=$!
"$TUG" net dns-fail --cgroup "$CG" --answer "$FAKE" --for 1m --json >"$tmp/out" 2>/dev/null & tp=$!
while ! grep -q '"applied"' "$tmp/out" 2>/dev/null; do sleep 0.005; done
sleep 0.3
t0=$(now_ms)
{ kill -9 "$tp" && wait "$tp"; } 2>/dev/null || true
wait "$pt"
tug_kill=$(first "$tmp/trace" "$t0" "$REAL")
# iptables has no process to kill: the rule is what is left when the script
# that added it dies before its delete.
dnat -A
probe 0.5 >"$tmp/trace"
ipt_left=$(awk -v f="$FAKE" '$2 == f' "$tmp/trace" | wc -l)
ipt_all=$(wc -l <"$tmp/trace")
dnat -D

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
lat() { awk '{ printf "%.0f\n", $1 }' "$1" | "$2"; }

cat <<EOF
## DNS answers for one service: tug vs iptables DNAT

Machine: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d).
Command: \`make bench\` (scripts/bench.d/dns.sh; REPS=$REPS). A prober in a scratch cgroup asks
a real server (tests/tools/dnsd on 127.0.0.153, answering $REAL) every 2 ms over a new UDP
socket each time. tug is \`tug net dns-fail --answer $FAKE\` (cgroup sock_addr hooks, its own
responder); the other side is what one scripts without tug: an iptables DNAT in nat OUTPUT
for the cgroup (\`-m cgroup --path\`) to a second dnsd answering $FAKE.

### Onset and heal (median of $REPS, ms)

| | tug | iptables DNAT | tug / iptables |
|---|---:|---:|---:|
| command -> first faked answer | $tug_on | $ipt_on | $(ratio "$tug_on" "$ipt_on") |
| tug's "applied" event -> first faked answer | $tug_att | | |
| deadline (tug) / rule removal (iptables) -> first real answer | $tug_off | $ipt_off | $(ratio "$tug_off" "$ipt_off") |
| SIGKILL of the tool -> first real answer | $tug_kill | never: the rule stays ($ipt_left of $ipt_all lookups faked 0.5 s later) | |

### Lookup latency (µs, median / p99)

| no fault | tug's responder | iptables DNAT to a fake server |
|---:|---:|---:|
| $(lat "$tmp/base_lat" median) / $(lat "$tmp/base_lat" p99) | $(lat "$tmp/tug_lat" median) / $(lat "$tmp/tug_lat" p99) | $(lat "$tmp/ipt_lat" median) / $(lat "$tmp/ipt_lat" p99) |

The prober asks every 2 ms (plus its own overhead): that is the resolution of every row.
tug's onset includes starting the process, loading and attaching eight programs and opening
its responder; once attached the next query is faked. The DNAT needs a fake server run
beside it and, being conntrack NAT, changes only new flows: a resolver that keeps one
socket (not glibc) would go on reaching the real server. tug rewrites every send and
every answer's source, and heals by itself at the deadline or when it dies.
EOF
