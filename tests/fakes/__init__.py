"""Loopback fakes of the outside systems: the evals REST API and GitHub's REST API.

Real HTTP servers on 127.0.0.1 with recorded requests, contract violations and control routes
under `/_fake/...`; see `github.FakeGitHub`, `evals.FakeEvals`, `events.event_payload` and
`env.cli_env`. Import them as `tests.fakes.<module>`.
"""
