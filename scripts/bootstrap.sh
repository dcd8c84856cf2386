# Creates .venv and installs the project into it when pyproject.toml changed since the last install.
bootstrap_venv() {
  local extras="$1"
  local stamp=".venv/.installed${extras}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" >&2
    touch "$stamp"
  fi
}
