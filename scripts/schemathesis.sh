#!/usr/bin/env bash
# Property-based API test: schemathesis (PyPI) generates requests from /v1/openapi.json and
# fails on any 5xx. Originate (POST /v1/calls) and trunk writes (POST/PUT /v1/trunks) are
# excluded: they place real SIP calls and REGISTERs to the generated addresses, and test
# traffic never leaves loopback (crates/server/tests/legs.rs and trunks.rs cover them). Installs schemathesis into target/venv-schemathesis on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/venv-schemathesis
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi
work=$(mktemp -d /tmp/switchyard-schemathesis.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sip=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/c.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$sip"]
[rtp]
port_min = 46000
port_max = 46200
[api]
listen = "127.0.0.1:$port"
[store]
url = "sqlite://$work/db.sqlite"
[flows]
dir = "$PWD/config/flows"
[tts]
cache_dir = "$work/tts"
[recordings]
dir = "$work/recordings"
TOML
cargo build -q --bin switchyard
SWITCHYARD_LOG=warn target/debug/switchyard serve --config "$work/c.toml" 2>"$work/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/v1/openapi.json" \
  --exclude-operation-id post_calls \
  --exclude-operation-id post_trunks --exclude-operation-id put_trunks__name_ \
  --checks not_a_server_error --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
  --seed 1 --request-timeout 5 --workers 1 2>&1 | tail -${SCHEMATHESIS_TAIL:-40}
exit "${PIPESTATUS[0]}"
