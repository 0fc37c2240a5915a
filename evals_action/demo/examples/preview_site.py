"""A tiny example app to evaluate: sign up, create a project, list projects.

It stands in for a pull request's preview deployment in `evals-action demo`: a page with a
sign-up form and a project form (a little JavaScript over the API) for the agent's browser, and
the API itself for its HTTP tool. State lives in memory.
Run it alone with `python -m evals_action.demo.examples.preview_site --port 8600`.

    GET  /                 a page describing the API
    POST /api/signup       {"email", "password"} → 201 {"token"}
    POST /api/projects     {"name"}, Authorization: Bearer <token> → 201 {"id", "name", "owner"}
    GET  /api/projects     [{"id", "name", "owner"}, ...]
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Projects</title>
</head><body><h1>Acme Projects</h1><p>Sign up, then create projects.</p>
<form id="signup"><h2>Sign up</h2>
<label>Email <input id="email" type="email" autocomplete="off"></label>
<label>Password <input id="password" type="password" autocomplete="off"></label>
<button type="submit">Sign up</button></form>
<form id="create" hidden><h2>New project</h2>
<label>Project name <input id="project-name"></label>
<button type="submit">Create project</button></form>
<p id="status" role="status"></p><h2>Projects</h2><ul id="projects"></ul>
<h2>API</h2><ul>
<li><code>POST /api/signup</code> with <code>{"email", "password"}</code> returns a token</li>
<li><code>POST /api/projects</code> with <code>{"name"}</code> and
<code>Authorization: Bearer &lt;token&gt;</code> creates a project</li>
<li><code>GET /api/projects</code> lists projects</li></ul>
<script>
let token = null;
const $ = (id) => document.getElementById(id);
async function call(method, path, body) {
  const headers = {"Content-Type": "application/json"};
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, {method, headers, body: body && JSON.stringify(body)});
  return [response.status, await response.json()];
}
async function list() {
  const [, projects] = await call("GET", "/api/projects");
  $("projects").replaceChildren(...projects.map((p) => {
    const item = document.createElement("li"); item.textContent = p.name; return item;
  }));
}
$("signup").addEventListener("submit", async (event) => {
  event.preventDefault();
  const [status, body] = await call("POST", "/api/signup",
    {email: $("email").value, password: $("password").value});
  if (status !== 201) { $("status").textContent = "Sign-up failed: " + body.error; return; }
  token = body.token; $("signup").hidden = true; $("create").hidden = false;
  $("status").textContent = "Signed up as " + $("email").value;
});
$("create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const [status, body] = await call("POST", "/api/projects", {name: $("project-name").value});
  $("status").textContent = status === 201 ? "Created project " + body.name
    : "Could not create the project: " + body.error;
  await list();
});
list();
</script></body></html>"""


def create_app() -> Starlette:
    """A fresh app with empty state."""
    users: dict[str, str] = {}  # email -> password
    tokens: dict[str, str] = {}  # token -> email
    projects: list[dict[str, Any]] = []

    async def home(request: Request) -> Response:
        return HTMLResponse(HOME)

    async def signup(request: Request) -> Response:
        body = await _json(request)
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or "@" not in email or not isinstance(password, str):
            return JSONResponse({"error": "email and password are required"}, status_code=400)
        if email in users:
            return JSONResponse({"error": "that email is taken"}, status_code=409)
        users[email] = password
        token = secrets.token_urlsafe(16)
        tokens[token] = email
        return JSONResponse({"token": token}, status_code=201)

    async def create_project(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        owner = tokens.get(token) if scheme.lower() == "bearer" else None
        if owner is None:
            return JSONResponse({"error": "sign in first (Bearer token)"}, status_code=401)
        name = (await _json(request)).get("name")
        if not isinstance(name, str) or not name.strip():
            return JSONResponse({"error": "name is required"}, status_code=400)
        project = {"id": len(projects) + 1, "name": name.strip(), "owner": owner}
        projects.append(project)
        return JSONResponse(project, status_code=201)

    async def list_projects(request: Request) -> Response:
        return JSONResponse(projects)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/api/signup", signup, methods=["POST"]),
            Route("/api/projects", create_project, methods=["POST"]),
            Route("/api/projects", list_projects, methods=["GET"]),
        ]
    )


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def main() -> None:  # pragma: no cover - a manual entry point
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8600)
    args = parser.parse_args()
    from evals_action.server import serving

    serving.run(app=create_app(), host=args.host, port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
