# Sourced by the smoke scripts: `fresh_venv DIR` makes a virtual environment WITHOUT system site-packages (so
# only what pip installs into it is importable) and sets $VPY to its interpreter. Debian's python3 needs the
# python3-venv package for `-m venv`; without it, virtualenv from PyPI does the same job.
fresh_venv() {
  local dir=$1 py=${PYTHON:-python3}
  if ! "$py" -m venv "$dir" >/dev/null 2>&1; then
    rm -rf "$dir"
    PIP_BREAK_SYSTEM_PACKAGES=1 "$py" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore virtualenv
    "$py" -m virtualenv --quiet "$dir"
  fi
  VPY="$dir/bin/python"
  "$VPY" -m pip install --quiet --disable-pip-version-check --upgrade pip
}
