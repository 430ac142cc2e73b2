# Sourced by the scripts that need a Python venv (test-python, test-tutor, lint, bench/setup).
#
#   ensure_python_venv VENV [PYTHON]
#
# Makes sure VENV holds a working venv of PYTHON (default python3, >= 3.11), creating it when
# absent or broken; on Debian as root it installs python3-venv when `python -m venv` fails.
# Returns non-zero with a message on stderr when that cannot be done.
ensure_python_venv() {
    local venv="$1" python="${2:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "$python not found" >&2
        return 1
    fi
    "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || { echo "Python >= 3.11 is required" >&2; return 1; }
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        return 0
    fi
    rm -rf "$venv"
    if "$python" -m venv "$venv" >/dev/null 2>&1; then
        return 0
    fi
    rm -rf "$venv"
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "'$python -m venv' failed; installing python3-venv" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv "$venv"
    else
        echo "'$python -m venv' failed; install python3-venv" >&2
        return 1
    fi
}
