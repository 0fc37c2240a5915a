#!/usr/bin/env bash
# The whole test suite, as CI and `make test` run it. Usage:
#   bash scripts/test.sh            everything: lint, types, workflow checks, pytest (all of tests/)
#   bash scripts/test.sh lint       ruff, ruff format, mypy, workflow static checks
#   bash scripts/test.sh pytest     pytest over tests/ except tests/e2e, with coverage
#   bash scripts/test.sh e2e        pytest tests/e2e only (act runs every documented workflow)
#   bash scripts/test.sh pytest tests/server/test_pages.py     pytest over those paths only
# Every check runs even after one fails; the summary at the end lists each with its result, and the
# exit code is non-zero if any failed. pytest collecting no tests (exit 5) counts as a failure.
# What did not run is listed too, with what to install (SKIPPED lines: skipped tests by reason,
# and actionlint run without its shell checker), so "all checks passed" never hides a skip.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
BIN="${VENV:-.venv}/bin"
part="${1:-all}"
case "$part" in all | lint | pytest | e2e) ;; *)
  echo "usage: bash scripts/test.sh [all|lint|pytest|e2e] [PYTEST PATHS...]" >&2
  exit 2
  ;;
esac
shift $(($# > 0 ? 1 : 0))

results=()
skipped=()
failed=0
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

# check NAME CMD...: run one check, record its result and time.
check() {
  local name="$1"
  shift
  local start end rc
  printf '\n=== %s\n$ %s\n' "$name" "$*"
  start=$(date +%s)
  "$@"
  rc=$?
  end=$(date +%s)
  if [ "$rc" -eq 0 ]; then
    results+=("PASS  $name ($((end - start))s)")
  else
    results+=("FAIL  $name ($((end - start))s, exit $rc)")
    failed=1
  fi
  return 0
}

# pytest exits 5 when it collected nothing: a misconfigured suite must not look green. Its skipped
# tests go to the summary, one SKIPPED line per reason (the reasons name what to install).
run_pytest() {
  local report="$workdir/pytest.xml" lines
  "$BIN/pytest" --junitxml="$report" "$@"
  local rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests (exit 5): treating as a failure" >&2
  fi
  if [ -s "$report" ] && lines="$("$BIN/python" scripts/pytest_skips.py "$report")"; then
    [ -n "$lines" ] && mapfile -t -O "${#skipped[@]}" skipped <<<"$lines"
  fi
  return "$rc"
}

# actionlint checks run: scripts with shellcheck only when it is on PATH, and says nothing if not.
shellcheck_present() {
  command -v shellcheck >/dev/null && return 0
  local what="actionlint ran without shellcheck, so no run: script was checked"
  if [ "${CI:-}" = true ]; then
    echo "CI=true but $what: .ci/run must install shellcheck" >&2
    return 1
  fi
  skipped+=("SKIPPED shellcheck: $what; install it (Debian: apt-get install shellcheck)")
}

workflow_checks() {
  local docs="$workdir/doc-workflows" rc=0
  "$BIN/python" -m tests.e2e.docs_workflows "$docs" >/dev/null || return 1
  # Workflow files shipped as examples under docs/ are checked like the ones in the Markdown.
  local examples
  mapfile -t examples < <(grep -rlE --include='*.yml' --include='*.yaml' '^jobs:' docs || true)
  local workflows=(.github/workflows/*.yml "$docs"/*.yml "${examples[@]}")
  local actions=(action.yml tests/e2e/standins/*/action.yml)
  echo "workflows: ${workflows[*]}"
  shellcheck_present || rc=1
  "$BIN/actionlint" "${workflows[@]}" || rc=1
  "$BIN/zizmor" --offline --quiet --config .github/zizmor.yml action.yml .github/workflows "$docs" || rc=1
  "$BIN/check-jsonschema" --builtin-schema vendor.github-actions "${actions[@]}" || rc=1
  "$BIN/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}" || rc=1
  return "$rc"
}

# Two workers: the act-driven e2e tests spend most of their time waiting on subprocesses.
jobs="${PYTEST_WORKERS:-auto}"
coverage=(--cov --cov-report=term-missing:skip-covered)

if [ "$part" = all ] || [ "$part" = lint ]; then
  check "ruff check" "$BIN/ruff" check .
  check "ruff format --check" "$BIN/ruff" format --check .
  check "mypy --strict evals_action" "$BIN/mypy"
  check "import contracts (lint-imports)" "$BIN/lint-imports" --no-cache
  check "workflow checks (actionlint, zizmor, check-jsonschema)" workflow_checks
fi
case "$part" in
  # The floor: branch coverage across the CLI's child processes, measured at 93.6-93.9% when set
  # (docs/testing.md); a change that drops below it fails the run.
  all) check "pytest tests/ (unit, integration, fakes, server, backends, e2e)" run_pytest -n "$jobs" "${coverage[@]}" --cov-fail-under=93 tests ;;
  pytest) check "pytest ${*:-tests/} without e2e" run_pytest -n "$jobs" "${coverage[@]}" "${@:-tests}" --ignore=tests/e2e ;;
  e2e) check "pytest tests/e2e" run_pytest -n "$jobs" tests/e2e ;;
esac

printf '\n=== summary (%s)\n' "$part"
printf '%s\n' "${results[@]}"
[ "${#skipped[@]}" -eq 0 ] || printf '%s\n' "${skipped[@]}"
if [ "$failed" -ne 0 ]; then
  echo "FAILED: see the sections above marked FAIL"
  exit 1
fi
if [ "${#skipped[@]}" -ne 0 ]; then
  echo "all checks passed, but not everything ran: install what the SKIPPED lines name"
  exit 0
fi
echo "all checks passed"
