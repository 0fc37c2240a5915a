"""Point a prompt at one pull request's preview: fill template vars, rewrite production URLs.

The same rules as the rollout backends' preview targeting (rollout-contracts.md): `{{name}}`
becomes the template var of that name, and each url-map production hostname becomes the preview.
A full `http(s)://host` becomes the preview's origin (so an `https://` production URL can point
at an `http://` preview on loopback); a bare hostname becomes the preview's host.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from evals_action.server import config


def missing_vars(*, declared: Sequence[str], template_args: Mapping[str, Any]) -> list[str]:
    """Declared template vars the request did not give, in declaration order."""
    return [name for name in declared if name not in template_args]


def fill(*, text: str, template_args: Mapping[str, Any]) -> str:
    """Replace every `{{name}}` that has a value; leave the others as they are."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(template_args[name]) if name in template_args else match.group(0)

    return config.PLACEHOLDER.sub(one, text)


def rewrite(*, text: str, url_map: Mapping[str, str]) -> str:
    """Send production hostnames to their previews."""
    for host, preview in url_map.items():
        parsed = urllib.parse.urlsplit(preview)
        origin = f"{parsed.scheme}://{parsed.netloc}"
        escaped = re.escape(host)
        text = re.sub(rf"https?://{escaped}(?![\w.-])", origin, text)
        text = re.sub(rf"(?<![\w.-]){escaped}(?![\w.-])", parsed.netloc, text)
    return text


def target(*, text: str, template_args: Mapping[str, Any], url_map: Mapping[str, str]) -> str:
    """`fill` then `rewrite`."""
    return rewrite(text=fill(text=text, template_args=template_args), url_map=url_map)


def target_value(
    *, value: Any, template_args: Mapping[str, Any], url_map: Mapping[str, str]
) -> Any:
    """`target` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return target(text=value, template_args=template_args, url_map=url_map)
    if isinstance(value, Mapping):
        return {
            k: target_value(value=v, template_args=template_args, url_map=url_map)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [target_value(value=v, template_args=template_args, url_map=url_map) for v in value]
    return value
