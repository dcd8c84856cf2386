# Creates .venv and installs the project into it when pyproject.toml (or fakegram's) changed since
# the last install. fakegram (./fakegram, the fake Telegram of the tests and `searchbot demo`) is
# installed with it: a development and demo dependency that the searchbot wheel does not carry.
bootstrap_venv() {
  local extras="$1"
  local stamp=".venv/.installed${extras}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ fakegram/pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check \
      -e ./fakegram -e ".${extras}" >&2
    touch "$stamp"
  fi
}
