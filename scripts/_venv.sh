# Sourced by scripts/demo and scripts/test: make sure .venv exists and holds
# the project (editable) with the given extras. Reinstalls only when
# pyproject.toml changed since the last install, so a second run starts at once.
#   ensure_venv            # the project
#   ensure_venv test       # the project and its test tools

find_python() {
    local candidate
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "clientbase needs Python 3.11 or newer (python3.11 or python3 on PATH)." >&2
    return 1
}

ensure_venv() {
    local extras="${1:-}" spec="." stamp python
    [ -n "$extras" ] && spec=".[$extras]"
    if [ ! -x .venv/bin/python ]; then
        python="$(find_python)" || return 1
        echo "Creating .venv with $python…"
        "$python" -m venv .venv || return 1
    fi
    stamp=".venv/.clientbase-installed${extras:+-$extras}"
    local want
    want="$(cksum < pyproject.toml)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "Installing clientbase${extras:+ with [$extras]} into .venv (first run takes a minute)…"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" || return 1
        echo "$want" > "$stamp"
    fi
}
