"""The browser tools: the system's Chromium driven by Playwright (the only importer of it).

No browser is ever downloaded: the executable comes from `--chromium` or `PATH` (`chromium`,
`chromium-browser`, `google-chrome`), started headless with the flags in `FLAGS`. One browser
per rollout, launched on the first browser call, in the rollout's own thread (Playwright's sync
API belongs to the thread that started it). Every request the page makes, not only the
navigations the model asks for, is aborted unless it goes to the rollout's origins.

Tools: `browser_navigate`, `browser_click`, `browser_type`, `browser_select`, `browser_read`
(page text or accessibility snapshot), `browser_screenshot`. Each action answers with the page's
URL, title and accessibility snapshot, and leaves a screenshot in the trace.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evals_action import errors
from evals_action.agent import tools

FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
NAMES = ("chromium", "chromium-browser", "google-chrome")
ACTION_TIMEOUT_MS = 5000
NAVIGATION_TIMEOUT_MS = 15000
PAGE_TEXT_LIMIT = 1500
QUIET_MS = 25
SETTLE_MS = 5000
VIEWPORT = {"width": 1024, "height": 640}
SELECTOR = {
    "type": "string",
    "description": "A Playwright selector: CSS (#email), text=Sign up, or role=button[name='Save']",
}


class NoBrowser(errors.EvalsActionError):
    """No Chromium to drive: a configuration problem (exit code 2)."""

    exit_code = 2


def find_executable(configured: str | None) -> str:
    """The Chromium to start; `NoBrowser` saying how to get one."""
    if configured:
        if Path(configured).is_file() or shutil.which(configured):
            return shutil.which(configured) or configured
        raise NoBrowser(f"--chromium: {configured} is not an executable file; point it at Chromium")
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise NoBrowser(
        "no Chromium found on PATH (tried chromium, chromium-browser, google-chrome): install "
        "it (Debian: apt-get install chromium) or pass --chromium /path/to/chrome"
    )


class Browser:
    """One rollout's browser. `close` always; it is started lazily."""

    def __init__(self, *, executable: str, scope: tools.Scope) -> None:
        self._executable = executable
        self._scope = scope
        self._playwright: Any = None
        self._browser: Any = None
        self._page: Any = None
        self._in_flight = 0

    @property
    def page(self) -> Any:
        if self._page is None:
            self._start()
        return self._page

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=self._executable, headless=True, args=list(FLAGS)
        )
        context = self._browser.new_context(viewport=VIEWPORT)
        context.route("**/*", self._guard)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        self._page = context.new_page()
        for event, change in (("request", 1), ("requestfinished", -1), ("requestfailed", -1)):
            self._page.on(event, lambda request, change=change: self._count(change))

    def _count(self, change: int) -> None:
        self._in_flight = max(0, self._in_flight + change)

    def settle(self) -> None:
        """Wait until the page's own requests (a form's fetch) are done and it is quiet for
        `QUIET_MS`, at most `SETTLE_MS`: what the model reads next is the page's answer."""
        page, quiet, waited = self.page, 0, 0
        while quiet < 2 and waited < SETTLE_MS:
            page.wait_for_timeout(QUIET_MS)
            waited += QUIET_MS
            quiet = quiet + 1 if self._in_flight == 0 else 0

    def _guard(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or self._scope.allows(url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = self._page = None

    def state(self, *, mode: str = "snapshot", shot: bool = True) -> tools.Outcome:
        """The page as the model reads it, with a screenshot for the trace."""
        page = self.page
        text = page.locator("body").inner_text() if mode == "text" else _snapshot(page)
        image = page.screenshot(type="jpeg", quality=50) if shot else None
        return tools.Outcome(
            text=f"URL: {page.url}\nTitle: {page.title()}\n{text}",
            page={"url": page.url, "text": page.locator("body").inner_text()[:PAGE_TEXT_LIMIT]},
            screenshot=image,
        )


def _snapshot(page: Any) -> str:
    return str(page.locator("body").aria_snapshot())


def toolset(*, browser: Browser, scope: tools.Scope) -> list[tools.Tool]:
    def action(do: Callable[[Browser, Mapping[str, Any]], None]) -> Callable[..., tools.Outcome]:
        def run(args: Mapping[str, Any]) -> tools.Outcome:
            from playwright.sync_api import Error

            try:
                do(browser, args)  # each reads `browser.page` after checking its arguments
                browser.settle()
                return browser.state()
            except Error as exc:
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                failed = browser.state()
                return tools.Outcome(
                    text=f"error: {message}\n{failed.text}",
                    ok=False,
                    page=failed.page,
                    screenshot=failed.screenshot,
                )

        return run

    def navigate(browser: Browser, args: Mapping[str, Any]) -> None:
        url = tools.text_arg(args, "url")
        scope.check(url)  # before the browser starts: a refused call costs nothing
        browser.page.goto(url)

    def click(browser: Browser, args: Mapping[str, Any]) -> None:
        selector = tools.text_arg(args, "selector")
        browser.page.locator(selector).first.click()

    def type_(browser: Browser, args: Mapping[str, Any]) -> None:
        selector, text = (
            tools.text_arg(args, "selector"),
            tools.text_arg(args, "text", required=False),
        )
        target = browser.page.locator(selector).first
        target.fill(text)
        if args.get("submit") is True:
            target.press("Enter")

    def select(browser: Browser, args: Mapping[str, Any]) -> None:
        selector, value = tools.text_arg(args, "selector"), tools.text_arg(args, "value")
        browser.page.locator(selector).first.select_option(value)

    def read(args: Mapping[str, Any]) -> tools.Outcome:
        mode = args.get("mode") or "text"
        if mode not in ("text", "snapshot"):
            raise tools.BadArguments("mode must be text or snapshot")
        return browser.state(mode=str(mode), shot=False)

    def screenshot(args: Mapping[str, Any]) -> tools.Outcome:
        return browser.state()

    def schema(**properties: Any) -> dict[str, Any]:
        required = [k for k, v in properties.items() if not v.pop("optional", False)]
        return {"type": "object", "properties": properties, "required": required}

    return [
        tools.Tool(
            "browser_navigate",
            "Open a URL of the app under test in the browser.",
            schema(url={"type": "string"}),
            action(navigate),
        ),
        tools.Tool(
            "browser_click",
            "Click the first element matching a selector.",
            schema(selector=dict(SELECTOR)),
            action(click),
        ),
        tools.Tool(
            "browser_type",
            "Fill a text field; submit=true presses Enter afterwards.",
            schema(
                selector=dict(SELECTOR),
                text={"type": "string"},
                submit={"type": "boolean", "optional": True},
            ),
            action(type_),
        ),
        tools.Tool(
            "browser_select",
            "Choose an option of a <select> by value or label.",
            schema(selector=dict(SELECTOR), value={"type": "string"}),
            action(select),
        ),
        tools.Tool(
            "browser_read",
            "Read the current page as text or as an accessibility snapshot.",
            schema(mode={"type": "string", "enum": ["text", "snapshot"], "optional": True}),
            read,
        ),
        tools.Tool(
            "browser_screenshot",
            "Take a screenshot of the current page (kept in the trace).",
            schema(),
            screenshot,
        ),
    ]
