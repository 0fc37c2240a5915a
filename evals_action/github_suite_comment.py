"""The suite's shared PR comment on GitHub (suites-contract §4, "Shared comment rules").

Several writers (steps or matrix legs with one `comment-key`) share one comment, each owning
its prompts' sections. GitHub has no compare-and-swap: a PATCH replaces the whole body, and the
last one to land wins. So a writer

1. lists the PR's comments and keeps those that carry the key's marker and are authored by the
   token's identity (anyone else's are never edited or deleted), oldest first;
2. writes: no comment yet → creates one; else merges its sections into the oldest (together
   with the sections of any newer duplicates), PATCHes it when the body changed, and deletes the
   duplicates it created itself;
3. re-reads, and repeats 2 (after a jittered back-off) until its sections are present;
4. once they are, waits a jittered `settle` and re-reads once more, because a writer that read
   before our PATCH may still land its PATCH after it; if ours are gone, back to 2.

A section written for the PR's head commit is never replaced by one for another commit
(`suite_sections.merge`); the head is looked up (`GET /pulls/{n}`) only when that question
arises. Uncontended, one `upsert` costs exactly 4 comment requests when it writes (list, create
or update, re-read, settled re-read; one page each up to 100 comments), 2 when the comment
already holds its sections, plus `GET /user` once when a marker comment exists before ours.

Given `known_id` (the evals server writing the report of a step that did not wait, which
handed over the comment it wrote), that comment's author is the writer whose comments are
ours, with no `GET /user`: the step's comment is edited whichever identity the server has. A
handed comment that is gone falls back to the search above.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from evals_action import errors, github_api, polling, suite_comment, suite_sections

ATTEMPTS = 6  # writes per upsert before giving up
BACKOFF = 0.5  # seconds before the first repair, doubled each time, jittered
SETTLE = 2.0  # seconds before the confirming re-read, jittered up to ×1.5


class SharedComment:
    """The comment of one `comment-key` on one pull request, as one writer sees it."""

    def __init__(
        self,
        *,
        github: Callable[[], github_api.GitHub],
        issue_number: int,
        comment_key: str,
        sleep: Callable[[float], None],
        rand: polling.Rand,
        attempts: int = ATTEMPTS,
        settle: float = SETTLE,
        known_id: int | None = None,
    ) -> None:
        self._github = github
        self._issue = issue_number
        self._key = comment_key
        self._sleep = sleep
        self._rand = rand
        self._attempts = attempts
        self._settle = settle
        self._created: set[int] = set()  # comments this writer created (its own duplicates)
        self._known = known_id
        self.comment_id: int | None = None  # the shared comment, once its sections are in it

    def upsert(self, sections: Sequence[suite_sections.Section]) -> None:
        """Make `sections` present in the shared comment; raises `errors.GitHubError` when a
        call fails or when other writers kept replacing them for every attempt."""
        gh = self._github()
        head = _HeadLookup(gh, self._issue)
        listing = self._list(gh)
        writes, settled = 0, False
        while True:
            if self._present(listing, sections, head):
                if settled or not writes:
                    self.comment_id = listing[0].id
                    return
                self._sleep(self._settle * self._rand(1.0, 1.5))
                listing, settled = self._list(gh), True
                continue
            if writes == self._attempts:
                break
            if writes:
                self._sleep(BACKOFF * 2 ** min(writes - 1, 4) * self._rand(0.5, 1.5))
                listing = self._list(gh)
            self._write(gh, listing, sections, head)
            listing, writes, settled = self._list(gh), writes + 1, False
        raise errors.GitHubError(
            f"could not keep this step's sections in the shared comment '{self._key}' on "
            f"#{self._issue} after {self._attempts} writes: other writers kept replacing the "
            "body; the comment may miss them until the next run"
        )

    def _list(self, gh: github_api.GitHub) -> list[github_api.Comment]:
        """Our marker comments, oldest first, authored by the token's identity."""
        marked = [
            c
            for c in gh.comments(issue_number=self._issue)
            if suite_comment.is_ours(c.body, comment_key=self._key)
        ]
        if not marked:
            return []
        handed = next((c for c in marked if c.id == self._known), None)
        me = handed.author if handed is not None else gh.identity()
        return [c for c in marked if c.author == me]

    def _present(
        self,
        listing: Sequence[github_api.Comment],
        sections: Sequence[suite_sections.Section],
        head: _HeadLookup,
    ) -> bool:
        if not listing or any(c.id in self._created for c in listing[1:]):
            return False
        found = suite_sections.parse(listing[0].body)
        return suite_sections.merge(found, sections, head_sha=head) == found

    def _write(
        self,
        gh: github_api.GitHub,
        listing: Sequence[github_api.Comment],
        sections: Sequence[suite_sections.Section],
        head: _HeadLookup,
    ) -> None:
        if not listing:
            body = suite_comment.compose(comment_key=self._key, sections=sections)
            self._created.add(gh.create_comment(issue_number=self._issue, body=body).id)
            return
        oldest, newer = listing[0], listing[1:]
        existing = suite_sections.union(*(suite_sections.parse(c.body) for c in listing))
        merged = suite_sections.merge(existing, sections, head_sha=head)
        body = suite_comment.compose(comment_key=self._key, sections=merged)
        if body != oldest.body and not self._tolerate_gone(
            lambda: gh.update_comment(issue_number=self._issue, comment_id=oldest.id, body=body)
        ):
            return
        for duplicate in newer:
            if duplicate.id in self._created:
                delete = functools.partial(
                    gh.delete_comment, issue_number=self._issue, comment_id=duplicate.id
                )
                self._tolerate_gone(delete)
                self._created.discard(duplicate.id)

    @staticmethod
    def _tolerate_gone(call: Callable[[], None]) -> bool:
        """Run `call`; a 404 (someone deleted the comment meanwhile) is contention, not an
        error: the next re-read shows what is there now. Returns whether the call succeeded."""
        try:
            call()
        except errors.GitHubError as exc:
            if exc.status != 404:
                raise
            return False
        return True


class _HeadLookup:
    """The PR's head commit, asked for at most once per upsert and only when needed."""

    def __init__(self, gh: github_api.GitHub, number: int) -> None:
        self._gh = gh
        self._number = number
        self._sha: str | None = None
        self._asked = False

    def __call__(self) -> str | None:
        if not self._asked:
            self._sha, self._asked = self._gh.pull(number=self._number).head_sha, True
        return self._sha
