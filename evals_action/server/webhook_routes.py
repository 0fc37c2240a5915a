"""`POST /api/v1/github/webhooks`: GitHub's deliveries start runs, with no workflow YAML.

The route answers at once: a forged `X-Hub-Signature-256` gets 401 and a delivery without
`X-GitHub-Delivery` 400, before anything else; every other delivery 202. The rest happens off
the request, on a thread (`Intake`): `webhooks.receive` (signature again, replays, the
repository's triggers, write permission asked of GitHub), then one run per decided prompt,
created as the API creates them (`api.create_run`) with `context.report.by = server`, so the
server writes their final comment and status (`reporter`).

A run's url map points every production host of the prompt (the hosts of its http(s) URLs) at
the preview the decision names: the event's deployment, or for label and command runs the head
commit's newest successful deployment (`webhooks.deployed_preview`); without one, the prompt's
own addresses. A prompt's template variables come from the repository's `template_vars` and
`template_vars_env`; a prompt whose variables they do not all fill is skipped, with a log line
naming them. Values read from the environment are secrets: the stored request names them
(`webhooks.TEMPLATE_SECRETS`) and the store keeps them redacted.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from evals_action import errors, github_app, transport
from evals_action.server import api, guards, prompts, report_request, routing, webhooks

log = logging.getLogger("evals_action.server")

PATH = "/api/v1/github/webhooks"
_HOST = re.compile(r"https?://([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")


class Intake:
    """Takes verified deliveries and works on them on a thread each."""

    def __init__(
        self,
        *,
        server: routing.Server,
        secret: str,
        triggers: Mapping[str, webhooks.Triggers],
        reads: webhooks.GitHubReads,
        replay_window_seconds: float,
    ) -> None:
        self.secret = secret
        self._server, self._triggers, self._reads = server, triggers, reads
        self._window = replay_window_seconds
        self._busy = 0
        self._idle = threading.Condition()

    def accept(self, *, headers: Mapping[str, str], body: bytes) -> None:
        with self._idle:
            self._busy += 1
        threading.Thread(target=self._work, args=(headers, body), daemon=True).start()

    def wait_idle(self, *, timeout: float) -> bool:
        """Until every accepted delivery was handled (for tests and benchmarks)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def _work(self, headers: Mapping[str, str], body: bytes) -> None:
        try:
            self._handle(headers=headers, body=body)
        except Exception:  # noqa: BLE001 - a delivery must never take the server down
            log.exception("webhook: unexpected error")
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _handle(self, *, headers: Mapping[str, str], body: bytes) -> None:
        db = self._server.db
        try:
            decision = webhooks.receive(
                headers=headers,
                body=body,
                secret=self.secret,
                record_delivery=lambda d: db.record_delivery(
                    delivery_id=d, keep_seconds=self._window
                ),
                forget_delivery=lambda d: db.forget_delivery(delivery_id=d),
                triggers=self._triggers,
                github=self._reads,
            )
        except (webhooks.Refused, errors.GitHubError) as exc:
            log.warning("webhook %s: not handled: %s", _delivery(headers), exc)
            return
        log.info("webhook %s (%s): %s", _delivery(headers), decision.event, decision.reason)
        if decision.run:
            for prompt_id in decision.prompts:
                self._start(decision=decision, prompt_id=prompt_id)

    def _start(self, *, decision: webhooks.Decision, prompt_id: str) -> None:
        prompt = self._server.settings.prompts.get(prompt_id)
        if prompt is None:
            return
        given = self._triggers[decision.repository.lower()]
        missing = [name for name in prompt.template_vars if name not in given.template_vars]
        if missing:
            log.warning(
                "webhook: prompt %s skipped: template variable(s) %s not set in the repository's "
                "[[webhooks.repositories]] template_vars or template_vars_env",
                prompt_id,
                ", ".join(missing),
            )
            return
        args = {name: given.template_vars[name] for name in prompt.template_vars}
        preview = decision.preview_url
        url_map = dict.fromkeys(production_hosts(prompt), preview) if preview else {}
        problem = api.previews_problem(url_map=url_map, policy=self._server.settings.fetch)
        if problem:
            log.warning("webhook: prompt %s skipped: %s", prompt_id, problem)
            return
        context = {
            "repository": decision.repository,
            "pullRequest": decision.pull_request,
            "sha": decision.sha or None,
        }
        parsed = {
            "urlMap": url_map,
            "templateArgs": args,
            webhooks.TEMPLATE_SECRETS: sorted(given.secret_vars & set(args)),
            "context": context,
            "report": report_request.parse({"report": {"by": report_request.BY_SERVER}}),
        }
        api.create_run(
            server=self._server,
            prompt=prompt,
            parsed=parsed,
            idempotency_key=f"webhook:{decision.delivery}",
        )


def production_hosts(prompt: prompts.Prompt) -> list[str]:
    """The hosts of the prompt's http(s) URLs, in order, once each."""
    return list(dict.fromkeys(_HOST.findall(prompt.text)))


def handler(*, intake: Intake | None) -> routing.Handler:
    async def deliver(request: Request) -> Response:
        if intake is None:
            return guards.JSON(
                {"error": "webhooks are not configured: add [webhooks] and [github] tables"},
                status_code=404,
            )
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        signature = headers.get(webhooks.SIGNATURE_HEADER)
        if not webhooks.signature_valid(secret=intake.secret, body=body, header=signature):
            return guards.JSON(
                {"error": "X-Hub-Signature-256 does not match the webhook secret"},
                status_code=401,
            )
        if not headers.get(webhooks.DELIVERY_HEADER, "").strip():
            return guards.JSON({"error": "X-GitHub-Delivery is missing"}, status_code=400)
        intake.accept(headers=headers, body=body)
        return guards.JSON({"accepted": True}, status_code=202)

    return deliver


def _delivery(headers: Mapping[str, str]) -> str:
    return headers.get(webhooks.DELIVERY_HEADER, "?")[: webhooks.MAX_DELIVERY_ID]


def from_settings(
    *, server: routing.Server, tokens: github_app.TokenSource | None
) -> Intake | None:
    """The intake `[webhooks]` configures (with `[github]`'s secret and tokens); else None."""
    reporting = server.settings.reporting
    if not reporting.triggers or reporting.github is None or tokens is None:
        return None
    return Intake(
        server=server,
        secret=reporting.github.webhook_secret,
        triggers=reporting.triggers,
        reads=github_app.RepositoryReads(
            source=tokens, api_url=reporting.github.api_url, user_agent=transport.USER_AGENT
        ),
        replay_window_seconds=reporting.replay_window_seconds,
    )
