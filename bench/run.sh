#!/usr/bin/env bash
# switchyard benchmarks (../shared/design/performance.md). Prints one table.
#   bench/run.sh            # all: B0 B1 B6
#   bench/run.sh B0 B6      # a subset
# Everything runs on 127.0.0.1 and stops by itself; every process started here is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
want=("${@:-B0 B1 B3 B6}"); want=" ${want[*]} "
work=$(mktemp -d /tmp/switchyard-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
rows=()
row() { rows+=("$(printf '%-4s %-44s %14s %14s %14s %8s' "$@")"); }

cargo build --release --bin switchyard -q
bin=target/release/switchyard
SIP_PORT=25060; API_PORT=28080; UAS_PORT=25070

# sipp run: prints "successful failed retrans elapsed_s rtd2_avg_ms"
sipp_run() { # port scenario rate calls extra...
  local port=$1 sf=$2 rate=$3 calls=$4; shift 4
  local dir; dir=$(mktemp -d "$work/sipp.XXXX")
  ( cd "$dir" && timeout 300 sipp "127.0.0.1:$port" -sf "$sf" -i 127.0.0.1 -p 0 -r "$rate" -rp 1000 \
      -m "$calls" -l 200000 -buff_size 4194304 -nostdin -timeout 240 -trace_stat -fd 1 \
      -stf stat.csv "$@" >out.txt 2>&1 || true )
  python3 - "$dir" <<'PY'
import csv, sys, glob
d = sys.argv[1]
rows = list(csv.DictReader(open(glob.glob(d + "/stat.csv")[0]), delimiter=';'))
last = rows[-1]
def f(k): return float(last.get(k, 0) or 0)
el = last["ElapsedTime(C)"]; h, m, s = el.split(":")[:3]
elapsed = int(h) * 3600 + int(m) * 60 + float(s)
rtd2 = last.get("ResponseTime2(C)", "00:00:00:000000")
p = rtd2.split(":"); rtd2_ms = (int(p[0]) * 3600 + int(p[1]) * 60 + int(p[2])) * 1000 + int(p[3]) / 1000
print(int(f("SuccessfulCall(C)")), int(f("FailedCall(C)")), int(f("Retransmissions(C)")), elapsed, rtd2_ms)
PY
}

start_server() { # flow-json
  mkdir -p "$work/flows"; rm -f "$work/flows/"*.json
  echo "$1" > "$work/flows/bench.json"
  cat > "$work/bench.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$SIP_PORT"]
[rtp]
port_min = 20000
port_max = 40000
[api]
listen = "127.0.0.1:$API_PORT"
[flows]
dir = "$work/flows"
[[routes]]
match = "*"
flow = "bench"
[tts]
cache_dir = "$work/tts"
[limits]
max_calls = 100000
TOML
  SWITCHYARD_LOG=warn "$bin" serve --config "$work/bench.toml" 2>"$work/server.log" &
  server_pid=$!; pids+=("$server_pid")
  for _ in $(seq 100); do curl -sf "127.0.0.1:$API_PORT/health" >/dev/null && return; sleep 0.1; done
  echo "server did not start"; cat "$work/server.log"; exit 1
}
stop_server() { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
cpu_s() { awk '{print ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# Highest rate of RATES (sipp -r) held for STEP_S seconds with zero failed calls and
# retransmissions under 0.1 % of calls. Prints "rate failed retrans".
step_up() { # port
  local best=0 bf=0 br=0
  for r in ${B0_RATES:-2000 4000 6000 8000 10000 12000 14000 16000}; do
    read -r ok fail re el _ < <(sipp_run "$1" "$root/tests/sipp/uac_server_bye.xml" "$r" $((r * ${STEP_S:-3})) -key rtp_port 9)
    if [ "$fail" -gt 0 ] || [ $((re * 1000)) -gt "$ok" ]; then bf=$fail; br=$re; break; fi
    best=$(python3 -c "print(round($ok/$el))")
  done
  echo "$best $bf $br"
}

if [[ $want == *" B0 "* ]]; then
  # Ceiling: sipp UAC against a sipp UAS doing the same exchange, same steps.
  (cd "$work" && sipp -sf "$root/tests/sipp/uas_answer_bye.xml" -i 127.0.0.1 -p $UAS_PORT \
      -buff_size 4194304 -nostdin -bg >/dev/null 2>&1) || true
  sleep 0.5
  read -r ceiling _ _ < <(step_up $UAS_PORT)
  pkill -f "uas_answer_bye.xml" || true
  start_server '{"actions":[{"type":"answer"},{"type":"hangup"}]}'
  c0=$(cpu_s "$server_pid")
  read -r rate fail re < <(step_up $SIP_PORT)
  c1=$(cpu_s "$server_pid")
  stop_server
  row B0 "answer+hangup calls/s (next step: failed $fail, retrans $re)" "$rate" ">= 8000" "$ceiling" "$(python3 -c "print(round($rate/max($ceiling,1),2))")"
  row "" "  server CPU s over all steps" "$(python3 -c "print(round($c1-$c0,1))")" "" "" ""
fi

if [[ $want == *" B1 "* ]]; then
  N=${B1_CALLS:-10000}; RATE=${B1_RATE:-1000}
  sox -n -r 8000 -c 1 -b 16 "$work/two-seconds.wav" synth 2.0 sine 440 vol 0.5
  start_server "{\"actions\":[{\"type\":\"answer\"},{\"type\":\"play\",\"option\":{\"stream_urls\":[\"file://$work/two-seconds.wav\"]}},{\"type\":\"hangup\"}]}"
  c0=$(cpu_s "$server_pid")
  read -r ok fail re el talk < <(sipp_run $SIP_PORT "$root/tests/sipp/uac_server_bye.xml" "$RATE" "$N" -key rtp_port 9)
  c1=$(cpu_s "$server_pid")
  late=$(curl -s "127.0.0.1:$API_PORT/metrics" | awk '/^switchyard_late_frames_total/{print $2}')
  stop_server
  # Calls are started over (elapsed - one talk time): the last call still talks after the last start.
  rate=$(python3 -c "print(round($ok/max($el-$talk/1000.0, 0.001)))")
  row B1 "2 s prompt calls/s (failed $fail, retrans $re)" "$rate" ">= 1000" "" ""
  row "" "  talk time avg s (target 2.00-2.10)" "$(python3 -c "print(round($talk/1000,3))")" "2.00-2.10" "" ""
  row "" "  late frames / server CPU s" "$late / $(python3 -c "print(round($c1-$c0,1))")" "" "" ""
fi

if [[ $want == *" B3 "* ]]; then
  out=$(cargo bench -q -p server --bench dtmf_latency 2>/dev/null | grep '^B3' || true)
  idle=$(echo "$out" | awk '/B3 idle/{for(i=1;i<=NF;i++) if($i=="p99") print $(i+1)}')
  loaded=$(echo "$out" | awk '/B3 loaded/{for(i=1;i<=NF;i++) if($i=="p99") print $(i+1)}')
  calls=$(echo "$out" | sed -n 's/.*loaded (\([0-9?]*\) calls.*/\1/p')
  row B3 "RFC 2833 digit -> BYE p99 ms, idle" "${idle:-n/a}" "<= 20" "" ""
  row "" "  p99 ms with ${calls:-?} calls streaming" "${loaded:-n/a}" "<= 40" "" ""
fi

if [[ $want == *" B6 "* ]]; then
  b6=$(cargo bench -q -p flow --bench cursor 2>/dev/null | awk -F': ' '/B6/{print $2}' | tail -1)
  row B6 "flow control actions/s, one core" "${b6:-n/a}" ">= 2000000" "" ""
fi

printf '%-4s %-44s %14s %14s %14s %8s\n' "#" "benchmark" "figure" "target" "ceiling" "ratio"
printf '%s\n' "${rows[@]}"
