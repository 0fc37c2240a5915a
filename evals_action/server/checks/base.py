"""What every grading check is, the registry of check types, and reading a check from the config.

A check type is a frozen dataclass subclassing `Check`, registered under its `type` name with
`@register`. The class says, as data, which key it needs (`needs`), which of its fields get the
run's template vars filled and production hosts pointed at the preview (`retargeted`) and which
get only the template vars (`filled`); it names itself when the config gives no `name`
(`default_name`), may add its own config problems (`config_problems`), and `run`s to
`(passed, detail)`. Adding a check type: one module in this package, imported by `__init__`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import requests

from evals_action.eval_protocol import prompts

if TYPE_CHECKING:  # config reads the checks at run time, so only its types come this way
    from evals_action.server import config, egress

TYPES: dict[str, type[Check]] = {}
C = TypeVar("C", bound="type[Check]")


@dataclasses.dataclass(frozen=True)
class Context:
    """What checks need besides the rollout: the request and the outside world."""

    template_args: Mapping[str, Any]
    url_map: Mapping[str, str]
    prompt_text: str
    session: requests.Session
    judge: config.Judge | None
    guard: egress.Guard  # where `http` checks may go
    http_timeout: float = 10.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Check:
    """One grading check; subclasses add the keys of their type."""

    type: ClassVar[str]
    needs: ClassVar[str]  # the config key a check of this type cannot do without
    retargeted: ClassVar[tuple[str, ...]] = ()  # template vars filled, hosts → preview
    filled: ClassVar[tuple[str, ...]] = ()  # template vars filled only

    name: str
    required: bool = True
    weight: float = 1.0

    @property
    def url(self) -> str:
        """The URL this check requests (`egress` allows its host); "" when it requests none."""
        return ""

    @classmethod
    def default_name(cls, *, values: Mapping[str, Any]) -> str:
        """The check's name when the config gives none."""
        raise NotImplementedError

    @classmethod
    def config_problems(cls, *, values: Mapping[str, Any], where: str) -> list[str]:
        """What is wrong with the config's values beyond a missing `needs` key."""
        return []

    def run(
        self, *, answer: str, result: Mapping[str, Any] | None, context: Context
    ) -> tuple[bool, str]:
        """`(passed, detail)`; the detail says why, in a few words."""
        raise NotImplementedError

    def targeted(self, *, context: Context) -> Check:
        """The check with template vars filled and production hosts pointed at the preview."""

        def fill(value: Any) -> Any:
            return prompts.fill_template(value, context.template_args)

        def retarget(value: Any) -> Any:
            if isinstance(value, str):
                return prompts.replace_hosts(fill(value), context.url_map)
            if isinstance(value, Mapping):
                return {k: retarget(v) for k, v in value.items()}
            if isinstance(value, list):
                return [retarget(v) for v in value]
            return value

        changes = {key: retarget(getattr(self, key)) for key in ("name", *self.retargeted)}
        changes.update({key: fill(getattr(self, key)) for key in self.filled})
        return dataclasses.replace(self, **changes)

    def template_texts(self) -> tuple[str, ...]:
        """The texts whose `{{name}}` template vars the prompt must declare."""
        values = (getattr(self, key) for key in (*self.retargeted, *self.filled))
        return tuple(v if isinstance(v, str) else repr(v) for v in values)


def register(cls: C) -> C:
    """Class decorator: make `cls` the check for `type = "<cls.type>"`."""
    TYPES[cls.type] = cls
    return cls


def parse(*, item: Any, where: str, problems: list[str]) -> Check | None:
    """One `[[prompts.checks]]` table as its check; None (and `problems` says why) when bad."""
    if not isinstance(item, Mapping):
        problems.append(f"{where} must be a table")
        return None
    kind = item.get("type")
    cls = TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        problems.append(f"{where}.type must be one of {', '.join(TYPES)} (got {kind!r})")
        return None
    if not item.get(cls.needs):
        problems.append(f"{where}: a {kind} check needs {cls.needs}")
    problems.extend(cls.config_problems(values=item, where=where))
    # Keys of any check type are accepted (a contains check may carry a url, unused), as before.
    known = {"type"}.union(*({f.name for f in dataclasses.fields(t)} for t in TYPES.values()))
    unknown = sorted(set(item) - known)
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
        return None
    own = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in item.items() if k in own}
    values.setdefault("name", cls.default_name(values=item))
    return cls(**values)


def content_text(value: Any) -> str:
    """A message's content as text: a string stripped, or OpenAI content parts joined; else ""."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in value if isinstance(p, Mapping)).strip()
    return ""
