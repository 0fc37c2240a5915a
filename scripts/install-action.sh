#!/usr/bin/env bash
# Installs the action's runtime into a virtualenv keyed by the action's version and the lockfile's
# hash, and reuses it when it is already there (self-hosted runners, a second step in one job, act).
# Prints `python=<path>` to GITHUB_OUTPUT. The package itself is not installed: the venv's Python
# runs it from the action's folder (scripts/run-action.py), which saves a build step on every run.
set -euo pipefail

action_path="${EVALS_ACTION_PATH:?EVALS_ACTION_PATH must be set}"
# Never run Python from the user's checkout (it may hold PR code): work from the action's own
# folder, and run every interpreter isolated (-I keeps the working directory off sys.path).
cd "$action_path"
lock="$action_path/requirements.lock"
python_bin="${EVALS_ACTION_BOOTSTRAP_PYTHON:-}"
if [ -z "$python_bin" ]; then
  python_bin="$(command -v python3 || command -v python || true)"
fi
if [ -z "$python_bin" ]; then
  echo "::error title=evals-action::No python3 on this runner. Add actions/setup-python before this step." >&2
  exit 2
fi

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$action_path/evals_action/__init__.py")"
lock_hash="$("$python_bin" -I -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:16])' "$lock")"
py_tag="$("$python_bin" -I -c 'import sys;print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"
cache_root="${EVALS_ACTION_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${HOME}/.cache}/evals-action}"
venv="$cache_root/$version-$py_tag-$lock_hash"

if [ -x "$venv/bin/python" ] && [ -f "$venv/.complete" ]; then
  echo "evals-action: reusing $venv"
else
  echo "::group::evals-action: installing runtime into $venv"
  rm -rf "$venv.tmp.$$"
  "$python_bin" -I -m venv "$venv.tmp.$$"
  "$venv.tmp.$$/bin/python" -I -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --only-binary=:all: -r "$lock"
  touch "$venv.tmp.$$/.complete"
  # Another job may have finished the same venv meanwhile; keep whichever landed first.
  if ! mv -T "$venv.tmp.$$" "$venv" 2>/dev/null; then
    rm -rf "$venv.tmp.$$"
  fi
  echo "::endgroup::"
fi

# A venv moved after creation keeps working for `python -m` (its scripts' shebangs are not used).
echo "python=$venv/bin/python" >> "${GITHUB_OUTPUT:-/dev/stdout}"
