#!/usr/bin/env bash
# `parallel` next to Python's process pools, on this machine, in one run:
#
#   bash bench/compare.sh
#
# 1. When python3 is there: makes bench/.venv and installs joblib into it (once).
#    Without python3 (or when the venv or joblib cannot be installed), it says so and measures
#    `parallel` alone.
# 2. Runs `cargo run --release -p parallel-bench --bin compare` (bench/src/), which measures the
#    workloads with multiprocessing.Pool, ProcessPoolExecutor and joblib (bench/python/compare.py)
#    and with `parallel`, prints one table, and writes bench/results/compare.{json,md,svg}.
#
# Knobs (environment; bench/README.md says more): REPEATS, ITEMS, SLOW_REPEATS, WORKERS, CALLS,
# CPU_REPEATS, ROUNDS, PAYLOADS, PAYLOAD_MB, ONLY (a comma-separated list of workloads),
# QUIET_WAIT (seconds to wait before each workload for the machine to be idle; 0),
# COMPARE_QUICK=1 (a smoke test in seconds), PYTHON (another interpreter that has joblib, or
# `skip`), JOBLIB (the pip requirement, "joblib==1.6.0" by default). A full run takes three to
# four minutes on two cores, plus the first build.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBLIB=${JOBLIB:-joblib==1.6.0}
venv=bench/.venv

setup_python() {
    if [ -n "${PYTHON:-}" ]; then
        echo "using PYTHON=$PYTHON" >&2
        return
    fi
    if ! command -v python3 >/dev/null 2>&1; then
        echo "python3 not found: skipping the Python side; measuring parallel alone" >&2
        return
    fi
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating $venv" >&2
        if ! python3 -m venv "$venv" >&2; then
            echo "could not create $venv (Debian/Ubuntu: apt-get install python3-venv):" \
                "skipping the Python side" >&2
            rm -rf "$venv"
            return
        fi
    fi
    if ! "$venv/bin/python" -c 'import joblib' 2>/dev/null; then
        echo "installing $JOBLIB into $venv" >&2
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$JOBLIB" >&2; then
            echo "could not install $JOBLIB: skipping the Python side" >&2
            return
        fi
    fi
    export PYTHON="$PWD/$venv/bin/python"
}

setup_python
# Without a usable interpreter (said above), the runner measures `parallel` alone.
export PYTHON=${PYTHON:-skip}
exec cargo run --release -p parallel-bench --bin compare
