#!/bin/bash
# Published ports: HTTP through berth's proxy (netd/proxy*.c), through berth's kernel DNAT (port
# mode nat) and through Docker's docker-proxy, against the same server reached directly. wrk -t2 -c32 against bench/echo-server.c (keep-alive
# HTTP/1.1): requests/s on a small body (GET /) and MB/s on a 1 MiB body (GET /big); then the
# RSS with 1,000 published ports, against docker-proxy's (a process per port).
#
# BENCH_PROXY_VIA=netd (the default when $BERTH_BIN/berth-netd exists): a private berth-netd
# makes the "container" (an endpoint on the default bridge: netns, veth, address) and publishes
# 127.0.0.1-reachable host ports 9000 and 9002 -> 8080: 9000 with a Service key (a balanced port,
# which the proxy always serves, here with one backend), 9002 without (port mode nat: a DNAT
# rule in table ip berth); the server runs in the endpoint's netns. Then a second endpoint with
# BENCH_PROXY_PORTS ports (host ports from the range: DNAT rules), and netd's RSS.
# BENCH_PROXY_VIA=driver: the same proxy code in bench/proxy-driver.c, the "container" a netns
# behind a hand-made veth pair (10.99.0.2). Either way:
#   direct = wrk -> veth -> server; berth = wrk -> 127.0.0.1:9000 -> proxy -> veth -> server;
#   nat = wrk -> 127.0.0.1:9002 -> DNAT + masquerade -> veth -> server (netd mode only);
#   docker = wrk -> 127.0.0.1:9001 -> docker-proxy -> veth -> server.
#
# Usage: bench/proxy.sh   (as root; env: BENCH_PROXY_ROUNDS (default 3), BENCH_PROXY_SECS
# (default 10), BENCH_PROXY_PORTS (default 1000), BENCH_PROXY_VIA; see bench/lib.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_enter_sandbox "$@"
ROUNDS=${BENCH_PROXY_ROUNDS:-3}
SECS=${BENCH_PROXY_SECS:-10}
NPORTS=${BENCH_PROXY_PORTS:-1000}
VIA=${BENCH_PROXY_VIA:-}
if [ -z "$VIA" ]; then
	if [ -x "$BERTH_BIN/berth-netd" ]; then VIA=netd; else VIA=driver; fi
fi
OUT="$BENCH_RESULTS/proxy.tsv"
: >"$OUT"

command -v wrk >/dev/null || bench_die "wrk not found (scripts/install-deps.sh --bench, or apt-get install wrk)"

# --- build ---------------------------------------------------------------------------------
CC=${CC:-cc}
$CC -O2 -static -o "$BENCH_TMP/echo-server" "$BENCH_DIR/echo-server.c" ||
	$CC -O2 -o "$BENCH_TMP/echo-server" "$BENCH_DIR/echo-server.c"
if [ "$VIA" = driver ]; then
	# shellcheck disable=SC2046
	$CC -O2 -D_GNU_SOURCE -I"$BENCH_REPO/include" -I"$BENCH_REPO/netd" \
		-o "$BENCH_TMP/proxy-driver" "$BENCH_DIR/proxy-driver.c" "$BENCH_REPO"/netd/proxy*.c \
		"$BENCH_REPO/lib/log.c" "$BENCH_REPO/lib/error.c" $(pkg-config --cflags --libs libevent)
fi

tcp_answers() { bash -c "exec 3<>/dev/tcp/$1/$2"; }

# --- netd: a private daemon; endpoints through its API -------------------------------------
netd_api() { # METHOD PATH [JSON]
	curl -sS --fail-with-body --unix-socket "$BERTH_RUN/netd.sock" -X "$1" \
		-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://netd$2"
}
netd_start() {
	export BERTH_ROOT="$BENCH_TMP/berth/root" BERTH_RUN="$BENCH_TMP/berth/run"
	mkdir -p "$BERTH_ROOT" "$BERTH_RUN"
	"$BERTH_BIN/berth-netd" >"$BENCH_TMP/netd.log" 2>&1 &
	NETD=$!
	bench_on_exit "kill $NETD"
	bench_wait_for 10 test -S "$BERTH_RUN/netd.sock" || bench_die "berth-netd did not start: $(tail -3 "$BENCH_TMP/netd.log")"
}
# endpoint ID PORTS_JSON -> sets EP_IP; starts echo-server in its netns
netd_endpoint() {
	local id=$1 reply
	reply=$(netd_api POST /endpoints "{\"ContainerId\":\"$id\",\"Name\":\"bench-${id:0:6}\",\"Network\":\"bridge\",\"Ports\":$2}") ||
		bench_die "POST /endpoints failed: $reply"
	EP_IP=$(printf '%s' "$reply" | sed -n 's/.*"IPAddress":"\([0-9.]*\)".*/\1/p')
	[ -n "$EP_IP" ] || bench_die "no IPAddress in $reply"
	nsenter --net="$BERTH_RUN/netns/$id" "$BENCH_TMP/echo-server" -a 0.0.0.0 -p 8080 &
	bench_on_exit "kill $!"
}
ID1=$(printf 'b%.0s' {1..64}) ID2=$(printf 'c%.0s' {1..64})

if [ "$VIA" = netd ]; then
	netd_start
	netd_endpoint "$ID1" '[{"ContainerPort":8080,"Proto":"tcp","HostIp":"","HostPort":9000,"Service":"bench/proxy"},{"ContainerPort":8080,"Proto":"tcp","HostIp":"","HostPort":9002}]'
	CTR_IP=$EP_IP
	[ "$(netd_api GET /stats | sed -n 's/.*"PortMode":"\([a-z]*\)".*/\1/p')" = nat ] ||
		bench_die "berth-netd is not in port mode nat"
	HAVE_NAT=1
	BERTH_PID=$NETD
	BERTH_LABEL="berth-netd proxy (splice; what --port-mode proxy uses)"
else
	CTR_IP=10.99.0.2
	ip netns add bench-ctr
	bench_on_exit "ip netns del bench-ctr"
	ip link add bench-veth type veth peer name eth0 netns bench-ctr
	ip addr add 10.99.0.1/24 dev bench-veth
	ip link set bench-veth up
	ip netns exec bench-ctr ip link set lo up
	ip netns exec bench-ctr ip addr add $CTR_IP/24 dev eth0
	ip netns exec bench-ctr ip link set eth0 up
	ip netns exec bench-ctr "$BENCH_TMP/echo-server" -a 0.0.0.0 -p 8080 &
	bench_on_exit "kill $!"
	"$BENCH_TMP/proxy-driver" -a 0.0.0.0 -p 9000 -b $CTR_IP:8080 >"$BENCH_TMP/driver.out" 2>&1 &
	DRIVER=$!
	BERTH_PID=$DRIVER
	bench_on_exit "kill $DRIVER"
	BERTH_LABEL="berth proxy (proxy-driver, splice)"
	HAVE_NAT=0
	bench_na berth-nat "BENCH_PROXY_VIA=driver: no netd, no DNAT"
fi
bench_wait_for 5 tcp_answers "$CTR_IP" 8080 || bench_die "echo-server did not start"
bench_wait_for 5 tcp_answers 127.0.0.1 9000 || bench_die "the berth proxy does not answer on 9000"
[ $HAVE_NAT = 0 ] || bench_wait_for 5 tcp_answers 127.0.0.1 9002 || bench_die "the DNAT port 9002 does not answer"

# docker-proxy 20.10 reports readiness on fd 3 and then closes it: give it one, or it closes
# its own listener.
DOCKER_PROXY=$(command -v docker-proxy || echo /usr/sbin/docker-proxy)
HAVE_DOCKER=0
if [ -x "$DOCKER_PROXY" ]; then
	"$DOCKER_PROXY" -proto tcp -host-ip 0.0.0.0 -host-port 9001 -container-ip "$CTR_IP" \
		-container-port 8080 3>/dev/null >"$BENCH_TMP/docker-proxy.out" 2>&1 &
	DP=$!
	bench_on_exit "kill $DP"
	HAVE_DOCKER=1
	bench_wait_for 5 tcp_answers 127.0.0.1 9001 ||
		bench_die "docker-proxy did not start: $(cat "$BENCH_TMP/docker-proxy.out")"
else
	bench_na docker-proxy "no docker-proxy (apt-get install docker.io)"
fi

# --- throughput: rounds interleave the peers so drift hits them alike; medians -------------
# wrk's "Requests/sec: N" and "Transfer/sec: N[KMG]B", as requests/s and MB/s.
wrk_run() { # URL -> "reqs mbs"
	wrk -t2 -c32 -d"${SECS}s" "$1" | awk '
		/^Requests\/sec:/ { r = $2 }
		/^Transfer\/sec:/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
			m = (u == "GB") ? v * 1024 : (u == "KB") ? v / 1024 : (u == "B") ? v / 1048576 : v }
		END { printf "%.0f %.1f\n", r, m }'
}
# CPU time (user + system, in clock ticks) a proxy process spent: noise on a shared machine moves
# throughput, much less the proxy's own cost per request and per GB.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
declare -A URL=([direct]="http://$CTR_IP:8080" [berth]="http://127.0.0.1:9000" [nat]="http://127.0.0.1:9002" [docker]="http://127.0.0.1:9001")
# nat has no process of its own: the kernel forwards in softirq time of whoever runs.
declare -A PID=([direct]="" [berth]="$BERTH_PID" [nat]="" [docker]="${DP:-}")
PEERS=(direct berth)
[ $HAVE_NAT = 1 ] && PEERS+=(nat)
[ $HAVE_DOCKER = 1 ] && PEERS+=(docker)
for round in $(seq "$ROUNDS"); do
	for peer in "${PEERS[@]}"; do
		pid=${PID[$peer]} c0=0 c1=0 c2=0
		[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
		read -r reqs _ < <(wrk_run "${URL[$peer]}/")
		[ -n "$pid" ] && c1=$(cpu_ticks "$pid")
		read -r _ mbs < <(wrk_run "${URL[$peer]}/big")
		[ -n "$pid" ] && c2=$(cpu_ticks "$pid")
		printf 'small\t%s\t%s\t%s\n' "$peer" "$round" "$reqs" >>"$OUT"
		printf 'big\t%s\t%s\t%s\n' "$peer" "$round" "$mbs" >>"$OUT"
		if [ -n "$pid" ]; then
			# µs of proxy CPU per request; ms per GB
			awk -v t=$(((c1 - c0) * TICK_US)) -v r="$reqs" -v s="$SECS" 'BEGIN { printf "cpu-small\t%s\t%s\t%.1f\n", "'"$peer"'", "'"$round"'", t / (r * s) }' >>"$OUT"
			awk -v t=$(((c2 - c1) * TICK_US)) -v m="$mbs" -v s="$SECS" 'BEGIN { printf "cpu-big\t%s\t%s\t%.0f\n", "'"$peer"'", "'"$round"'", (t / 1000) / (m * s / 1024) }' >>"$OUT"
		fi
		bench_log "round $round $peer: $reqs requests/s small, $mbs MB/s 1 MiB"
	done
done
median() { # WHAT PEER
	awk -F'\t' -v w="$1" -v p="$2" '$1 == w && $2 == p { print $4 }' "$OUT" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

# --- memory: NPORTS published ports; docker-proxy's cost per port --------------------------------
if [ "$VIA" = netd ]; then
	ports="[" sep=""
	for _ in $(seq "$NPORTS"); do
		ports+="$sep{\"ContainerPort\":8080,\"Proto\":\"tcp\",\"HostIp\":\"\",\"HostPort\":0}"
		sep=,
	done
	netd_endpoint "$ID2" "$ports]"
	MANY=$NETD
	LAST=$(netd_api GET /ports | grep -o '"HostPort":[0-9]*' | grep -o '[0-9]*$' | sort -n | tail -1)
	MANY_LABEL="berth-netd (everything: bridge, DNS, API; one process"
else
	kill "$DRIVER"
	wait "$DRIVER" 2>/dev/null || true
	"$BENCH_TMP/proxy-driver" -a 0.0.0.0 -m 20000:"$NPORTS" -b $CTR_IP:8080 >"$BENCH_TMP/driver-many.out" 2>&1 &
	MANY=$!
	bench_on_exit "kill $MANY"
	bench_wait_for 10 grep -q ready "$BENCH_TMP/driver-many.out" || bench_die "proxy-driver -m failed: $(cat "$BENCH_TMP/driver-many.out")"
	LAST=$((20000 + NPORTS - 1))
	MANY_LABEL="berth proxy (proxy-driver; one process"
fi
# the last one answers end to end
bench_wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$LAST && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && grep -q Hello <&3" ||
	bench_die "published port $LAST does not answer"
sleep 1
RSS_MANY=$(bench_rss_kb "$MANY")
FDS_MANY=$(find /proc/"$MANY"/fd -mindepth 1 -maxdepth 1 | wc -l)
DP_RSS=0
[ $HAVE_DOCKER = 1 ] && DP_RSS=$(bench_rss_kb "$DP")

# --- the table -------------------------------------------------------------------------------
D_S=$(median small direct) D_B=$(median big direct)
B_S=$(median small berth) B_B=$(median big berth)
{
	echo "| published port, $(nproc) CPUs ($ROUNDS rounds of wrk -t2 -c32 -d${SECS}s, medians) | small body, requests/s | vs direct | 1 MiB body, MB/s | vs direct | proxy CPU per request | proxy CPU per GB |"
	echo "|---|---|---|---|---|---|---|"
	echo "| direct to the container ($CTR_IP over a veth) | $D_S | 1.00x | $D_B | 1.00x | | |"
	echo "| $BERTH_LABEL | $B_S | $(ratio "$B_S" "$D_S") | $B_B | $(ratio "$B_B" "$D_B") | $(median cpu-small berth) µs | $(median cpu-big berth) ms |"
	if [ $HAVE_NAT = 1 ]; then
		N_S=$(median small nat) N_B=$(median big nat)
		echo "| berth-netd --port-mode nat (DNAT in table ip berth) | $N_S | $(ratio "$N_S" "$D_S") | $N_B | $(ratio "$N_B" "$D_B") | (kernel) | (kernel) |"
	fi
	if [ $HAVE_DOCKER = 1 ]; then
		K_S=$(median small docker) K_B=$(median big docker)
		echo "| docker-proxy 20.10 | $K_S | $(ratio "$K_S" "$D_S") | $K_B | $(ratio "$K_B" "$D_B") | $(median cpu-small docker) µs | $(median cpu-big docker) ms |"
	fi
	echo
	echo "| $NPORTS published ports | RSS |"
	echo "|---|---|"
	echo "| $MANY_LABEL, $FDS_MANY fds) | $((RSS_MANY / 1024)).$(((RSS_MANY % 1024) * 10 / 1024)) MB |"
	[ $HAVE_DOCKER = 1 ] && echo "| docker-proxy (a process per port, $DP_RSS KB each after its benchmark) | $((DP_RSS * NPORTS / 1024)) MB |"
} | tee "$BENCH_RESULTS/proxy.md"
bench_log "results in $BENCH_RESULTS (proxy.tsv, proxy.md)"
bench_finish
