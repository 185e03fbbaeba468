#!/usr/bin/env bash
# Checks the mock against the official Genesys Cloud Python SDK (PureCloudPlatformClientV2 269.0.0,
# the version the models crate's tests/models.json was read from): starts the `genesys-cloud-mock`
# binary for each scenario on a free loopback port and runs tests/sdk/check_official_sdk.py against it.
# Paths are the mock crate's. Usage: bash tests/sdk/run.sh [SCENARIO...]   (default: quiet, demo and tests/sdk/churn.toml)
# A registry outage must not fail CI: if the SDK cannot be installed, this says SKIPPED and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."

SDK_PIN="PureCloudPlatformClientV2==269.0.0"
WS_PIN="websockets==17.4"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(quiet demo tests/sdk/churn.toml)

python=$(command -v python3 || true)
if [ -z "$python" ]; then
    echo "SKIPPED: official SDK could not be installed (no python3 on this machine)"
    exit 0
fi
# The workspace's target directory (wherever cargo puts it) holds the virtual environment.
VENV=$(cargo metadata --locked --format-version 1 --no-deps |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/sdk-venv
if [ ! -x "$VENV/bin/python" ] && ! "$python" -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    echo "SKIPPED: official SDK could not be installed (python3 -m venv failed)"
    exit 0
fi
if ! "$VENV/bin/python" -c 'import PureCloudPlatformClientV2, websockets' 2>/dev/null ||
    [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("PureCloudPlatformClientV2"))')" != "269.0.0" ]; then
    if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --timeout 30 --retries 2 "$SDK_PIN" "$WS_PIN"; then
        echo "SKIPPED: official SDK could not be installed (pip could not reach the registry)"
        exit 0
    fi
fi

# Wherever cargo puts the binary (CARGO_TARGET_DIR, a build.target-dir setting, a profile):
# cargo names it in its build messages.
bin=$(cargo build --locked --quiet --bin genesys-cloud-mock --message-format=json-render-diagnostics |
    "$python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "genesys-cloud-mock":
        print(m["executable"])')
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "cargo built no genesys-cloud-mock binary"
    exit 1
fi

out=$(mktemp)
err=$(mktemp)
log=$(mktemp)
mock_pid=""
stop_mock() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
        mock_pid=""
    fi
}
trap 'stop_mock; rm -f "$out" "$err" "$log"' EXIT

status=0
passed=0
failed=0
for scenario in "${scenarios[@]}"; do
    echo "== official SDK against genesys-cloud-mock --scenario $scenario"
    : >"$out"
    "$bin" --port 0 --scenario "$scenario" >"$out" 2>"$err" &
    mock_pid=$!
    # The mock prints `listening on http://HOST:PORT`, `client id: ID`, `client secret: S`.
    for _ in $(seq 100); do
        [ "$(grep -c . "$out")" -ge 3 ] && break
        kill -0 "$mock_pid" 2>/dev/null || break
        sleep 0.1
    done
    url=$(sed -n 's/^listening on //p' "$out")
    client_id=$(sed -n 's/^client id: //p' "$out")
    client_secret=$(sed -n 's/^client secret: //p' "$out")
    if [ -z "$url" ] || [ -z "$client_id" ] || [ -z "$client_secret" ]; then
        echo "the mock did not start for scenario $scenario:"
        cat "$err"
        status=1
        failed=$((failed + 1))
        stop_mock
        continue
    fi
    extra=()
    # The viewers lack the kick's permissions (scenarios/quiet.toml, tests/sdk/churn.toml).
    case $scenario in
    quiet) extra=(--viewer quiet-viewer:quiet-viewer-secret --signin quiet-signin:7d3c1b2a-1111-4c4c-9a9a-000000000001) ;;
    demo) extra=(--listen 5 --signin confwatch-signin:0b5e8f0e-1111-4d1d-8c8c-00000000d001) ;;
    tests/sdk/churn.toml) extra=(--viewer churn-viewer:churn-viewer-secret --listen 8) ;;
    esac
    MOCK_CLIENT_SECRET="$client_secret" timeout 240 "$VENV/bin/python" -W ignore::DeprecationWarning \
        tests/sdk/check_official_sdk.py "$url" "$client_id" "${extra[@]}" | tee "$log" ||
        status=1
    # The script's last line is `N passed, M failed[, K skipped]`.
    summary=$(tail -n 1 "$log")
    if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    else
        echo "the check for scenario $scenario ended without its summary line"
        failed=$((failed + 1))
        status=1
    fi
    if ! kill -0 "$mock_pid" 2>/dev/null; then
        mock_status=0
        wait "$mock_pid" || mock_status=$?
        mock_pid=""
        echo "the mock exited during the check, status $mock_status (128+N: killed by signal N):"
        cat "$err"
        failed=$((failed + 1))
        status=1
    fi
    stop_mock
done
echo "official SDK check, all scenarios:"
echo "$passed passed, $failed failed"
exit $status
