"""The action's settings as the Eval Protocol layer takes them (plain values, no `settings`).

Shared by the two rollout backends (`remote`, `github_workflow`) and `backends.preflight`:
`Rollout` is what both start from (`from_settings` reads the prompt file and derives the ids).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from evals_action import models, settings
from evals_action.eval_protocol import init, prompts


@dataclasses.dataclass(frozen=True)
class Rollout:
    """One rollout as a backend starts it: the prompt, the five ids, the model's URL and key."""

    prompt: prompts.Prompt
    ids: init.Correlation
    model_base_url: str = ""
    api_key: str = dataclasses.field(default="", repr=False)

    def aimed(self, request: models.StartRequest) -> init.Targeted:
        """The prompt aimed at the request's preview, with the metadata that goes along."""
        return init.targeted(
            messages=self.prompt.messages,
            ids=self.ids,
            url_map=request.url_map,
            template_args=request.template_args,
        )


def from_settings(*, settings_: settings.Settings, target: models.Target) -> Rollout:
    """The rollout these settings describe; reads the prompt file (`ConfigError` if bad)."""
    rollout = settings_.rollout
    return Rollout(
        prompt=load_prompt(rollout=rollout),
        ids=correlation(settings_=settings_, target=target),
        model_base_url=rollout.model_base_url,
        api_key=rollout.model_api_key,
    )


def load_prompt(*, rollout: settings.RolloutSettings) -> prompts.Prompt:
    """`prompt-file`, with `completion-params` merged over its own (`ConfigError` if bad)."""
    return prompts.load_prompt(path=rollout.prompt_file, overrides=rollout.completion_params)


def correlation(
    *,
    settings_: settings.Settings,
    target: models.Target,
    make_id: Callable[[], str] = init.new_id,
) -> init.Correlation:
    """The five ids: inputs win, else derived from the run and the PR, else random."""
    rollout = settings_.rollout
    given = init.IdInputs(
        invocation_id=rollout.invocation_id,
        experiment_id=rollout.experiment_id,
        rollout_id=rollout.rollout_id,
        run_id=rollout.correlation_run_id,
        row_id=rollout.row_id,
        github_run_id=settings_.github.run_id,
        github_run_attempt=settings_.github.run_attempt,
        repository=target.repository,
        pr_number=target.pr_number,
        prompt_id=settings_.prompt_id,
    )
    return init.correlation(given=given, make_id=make_id)
