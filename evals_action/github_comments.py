"""The sticky PR comment: one comment per prompt, created once and then edited in place.

`StickyComment` finds our oldest marker comment authored by the token's identity (others are
never edited), creates it when there is none, updates it when the body changed, and sends
nothing when it did not. After a 401, 403 or 404 it stops trying: the token cannot write here.

Given `known_id` (the evals server reporting for the action's step, which handed over the
comment it wrote), it edits that comment directly, with no listing and no `GET /user`: the id
comes from the authenticated step, and the edit is addressed within the run's repository. If
that comment is gone (404), it falls back to the search.
"""

from __future__ import annotations

from collections.abc import Callable

from evals_action import errors, github_api, render

# Answers after which another try cannot succeed for this run.
_GIVE_UP = (401, 403, 404)


class StickyComment:
    """The comment on one pull request for one prompt."""

    def __init__(
        self,
        *,
        github: Callable[[], github_api.GitHub],
        issue_number: int,
        prompt_id: str,
        known_id: int | None = None,
    ) -> None:
        self._github = github
        self._issue_number = issue_number
        self._prompt_id = prompt_id
        self._id: int | None = known_id
        self._handed = known_id  # an id we did not find ourselves: edited once, unchecked
        self._body: str | None = None
        self.broken = False

    @property
    def comment_id(self) -> int | None:
        """The comment's id once it was found or created."""
        return self._id

    def upsert(self, body: str) -> None:
        """Create or update the comment with `body`; raises `errors.GitHubError` (and stops all
        further tries after a 401, 403 or 404)."""
        if self.broken or body == self._body:
            return
        try:
            self._write(body)
        except errors.GitHubError as exc:
            self.broken = exc.status in _GIVE_UP
            raise

    def _write(self, body: str) -> None:
        gh = self._github()
        if self._handed is not None:
            handed, self._handed = self._handed, None
            try:
                gh.update_comment(issue_number=self._issue_number, comment_id=handed, body=body)
            except errors.GitHubError as exc:
                if exc.status != 404:
                    raise
                self._id = None  # deleted since: find ours, or create it
            else:
                self._body = body
                return
        if self._id is None:
            found = find_ours(gh, issue_number=self._issue_number, prompt_id=self._prompt_id)
            if found is not None:
                self._id, self._body = found.id, found.body
        if self._id is None:
            self._id = gh.create_comment(issue_number=self._issue_number, body=body).id
        elif body != self._body:
            gh.update_comment(issue_number=self._issue_number, comment_id=self._id, body=body)
        self._body = body


def find_ours(
    gh: github_api.GitHub, *, issue_number: int, prompt_id: str
) -> github_api.Comment | None:
    """Our oldest marker comment, authored by the token's identity; others are never edited."""
    candidates = [
        c
        for c in gh.comments(issue_number=issue_number)
        if render.is_ours(c.body, prompt_id=prompt_id)
    ]
    if not candidates:
        return None
    me = gh.identity()
    return next((c for c in candidates if c.author == me), None)
