"""The OpenAPI 3.1 document served at `GET /api/openapi`.

Written by hand, next to the routes, and kept honest by tests that validate real traffic of the
action's own client against it (responses declare `additionalProperties: false`, so a field the
server sends but does not declare fails the test) and that check every field the client reads.
"""

from __future__ import annotations

from typing import Any

from evals_action import __version__, hand_over, models


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _closed(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


MAX_SQL_INTEGER = 2**63 - 1  # SQLite's largest integer
MAX_SUITE_ID = 200  # characters in `context.suite`
SUITES = {
    models.SUITES_HEADER: {
        "description": "`1`: runs of one step (same `context.suite`) never supersede each "
        "other, and `GET /api/v1/runs` accepts `branch=default`. On every API response.",
        "schema": {"type": "string", "enum": ["1"]},
    }
}
ERROR = _closed({"error": {"type": "string"}}, required=["error"])
METRICS = _closed(
    {
        "time": _nullable("string", description="Wall time, for people: `2m 14s`"),
        "timeSeconds": _nullable("number"),
        "cost": _nullable("string", description="Cost, for people: `$0.12`"),
        "costUsd": _nullable("number"),
        "errors": _nullable("integer"),
        "interruptions": _nullable("integer"),
    }
)
DIMENSION = _closed(
    {
        "name": {"type": "string"},
        "passed": {"type": "boolean"},
        "detail": {"type": "string"},
        "required": {"type": "boolean"},
        "weight": {"type": "number"},
    }
)
REPORT = _closed(
    {
        "slug": _nullable("string"),
        "url": _nullable("string", format="uri"),
        "score": _nullable("number", minimum=0, maximum=100),
        "grade": _nullable("string"),
        "outcome": _nullable(
            "string",
            description="`succeeded` when every required check passed, else `goal_not_met`",
        ),
        "nullNotice": _nullable("string"),
        "keyFinding": _nullable("string", description="The first failed check"),
        "summary": _closed({"whatDidnt": _nullable("string")}),
        "verdict": _nullable("string"),
        "metrics": {"oneOf": [{"$ref": "#/components/schemas/Metrics"}, {"type": "null"}]},
        "dimensions": {"type": "array", "items": {"$ref": "#/components/schemas/Dimension"}},
        "answer": _nullable("string", description="The agent's final answer"),
    }
)
CONTEXT = {
    "type": "object",
    "description": "Optional. A run for a prompt, repository and pull request supersedes the "
    "in-flight runs of older steps for the same three; runs of one step (same `suite`) never "
    "supersede each other.",
    "properties": {
        "repository": {"type": "string", "description": "owner/repo"},
        "pullRequest": {"type": "integer", "minimum": 1, "maximum": MAX_SQL_INTEGER},
        "sha": {"type": "string"},
        "suite": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_SUITE_ID,
            "description": "One id per step invocation (suites-contract §2)",
        },
        "attempt": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_SQL_INTEGER,
            "description": "The run's 1-based attempt for its prompt within the suite",
        },
        "report": {
            "type": "object",
            "description": "The server writes the final comment and status itself (the "
            "action's wait: false; needs [github])",
            "properties": {
                "by": {"type": "string", "enum": ["server"]},
                "statusContext": {"type": "string", "maxLength": 100},
                "skipComment": {"type": "boolean"},
                "skipStatus": {"type": "boolean"},
                "hold": {
                    "type": "boolean",
                    "description": "Hold the final report until POST "
                    "/api/v1/runs/{runId}/hand-over, or 2 minutes after the start",
                },
                "inputs": {
                    "type": "object",
                    "description": "A suite's step (with context.suite): its inputs that shape "
                    "the report, as the action's input name → value; the server writes the "
                    "suite's statuses and comment once every run of the suite ended",
                    "properties": {name: {"type": "string"} for name in hand_over.SUITE_INPUTS},
                },
            },
        },
    },
}
HAND_OVER = _closed({"commentId": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}})
START_REQUEST = {
    "type": "object",
    "description": "Unknown fields are ignored.",
    "properties": {
        "urlMap": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Production hostname → preview URL",
        },
        "templateArgs": {"type": "object", "description": "The prompt's template variables"},
        "context": {"$ref": "#/components/schemas/RunContext"},
    },
}
START_RESPONSE = _closed(
    {
        "runId": {"type": "string"},
        "statusUrl": {"type": "string", "format": "uri"},
        "runUrl": {"type": "string", "format": "uri"},
    },
    required=["runId", "statusUrl", "runUrl"],
)
RUN = _closed(
    {
        "runId": {"type": "string"},
        "promptId": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["pending", "running", "completed", "failed", "superseded"],
        },
        "statusUrl": {"type": "string", "format": "uri"},
        "runUrl": {"type": "string", "format": "uri"},
        "failureReason": _nullable("string"),
        "prompt": _closed(
            {"id": {"type": "string"}, "title": {"type": "string"}, "text": {"type": "string"}}
        ),
        "report": {"oneOf": [{"$ref": "#/components/schemas/Report"}, {"type": "null"}]},
        "reportStatus": _nullable("string", enum=["published", None]),
        "supersededBy": _nullable("string"),
        "context": {
            "oneOf": [
                _closed(
                    {
                        "repository": _nullable("string"),
                        "pullRequest": _nullable("integer"),
                        "sha": _nullable("string"),
                        "suite": _nullable("string"),
                        "attempt": _nullable("integer"),
                    }
                ),
                {"type": "null"},
            ]
        },
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
    },
    required=["runId", "status", "statusUrl", "runUrl"],
)
PROMPT = _closed(
    {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "text": {"type": "string"},
        "templateVars": {"type": "array", "items": {"type": "string"}},
        "rolloutTarget": {"type": "string", "enum": ["remote", "github-workflow"]},
        "checks": {
            "type": "array",
            "items": _closed(
                {
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    "required": {"type": "boolean"},
                }
            ),
        },
    }
)


def _json(
    schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        "headers": {**SUITES, **(headers or {})},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Bad request (e.g. `Missing template vars: …`)",
        401: "Missing or invalid key",
        404: "Not found",
        413: "The body is larger than the server's `max_body_bytes`",
        503: "The server's database failed (e.g. disk full); retry after `Retry-After` seconds",
    }
    return {str(s): _json(_ref("Error"), text[s]) for s in (*statuses, 503)}


def document(*, server_url: str) -> dict[str, Any]:
    """The whole document; `server_url` is the server's public URL."""
    long_poll = {
        "X-Evals-Long-Poll": {
            "description": "Long polling is supported: the most seconds `wait` may ask for.",
            "schema": {"type": "string"},
        }
    }
    prompt_id = {"name": "promptId", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "evals-action server: evals REST API", "version": __version__},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/prompts": {
                "get": {
                    "operationId": "listPrompts",
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": _ref("Prompt")}, "The configured prompts"
                        ),
                        **_errors(401),
                    },
                }
            },
            "/api/v1/prompts/{promptId}": {
                "get": {
                    "operationId": "getPrompt",
                    "parameters": [prompt_id],
                    "responses": {"200": _json(_ref("Prompt"), "The prompt"), **_errors(401, 404)},
                }
            },
            "/api/v1/prompts/{promptId}/run": {
                "post": {
                    "operationId": "startRun",
                    "parameters": [
                        prompt_id,
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "A retried POST with the same key returns the same run.",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("StartRequest")}},
                    },
                    "responses": {
                        "201": _json(_ref("StartResponse"), "The run was created"),
                        "200": _json(
                            _ref("StartResponse"), "Same Idempotency-Key: the run made before"
                        ),
                        **_errors(400, 401, 404, 413),
                    },
                }
            },
            "/api/v1/runs": {
                "get": {
                    "operationId": "listRuns",
                    "parameters": [
                        {"name": "promptId", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "reportStatus",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["published"]},
                        },
                        {
                            "name": "branch",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["default"]},
                            "description": "`default`: only runs from the default branch, "
                            "i.e. runs whose context has no pull request (baselines).",
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 100,
                                "default": 20,
                            },
                        },
                        {
                            "name": "offset",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": MAX_SQL_INTEGER,
                                "default": 0,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("Run")}, "Runs, newest first"),
                        **_errors(400, 401),
                    },
                }
            },
            "/api/v1/reporting": {
                "get": {
                    "operationId": "getReporting",
                    "description": "Does this server write runs' final comment and status on "
                    "the repository itself (the action's wait: false)?",
                    "parameters": [
                        {
                            "name": "repository",
                            "in": "query",
                            "required": True,
                            "schema": {
                                "type": "string",
                                "pattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                            },
                        }
                    ],
                    "responses": {
                        "200": _json(
                            _closed(
                                {"reports": {"type": "boolean"}, "reason": _nullable("string")},
                                required=["reports", "reason"],
                            ),
                            "Whether it does, and why not",
                        ),
                        **_errors(400, 401),
                    },
                }
            },
            "/api/v1/runs/{runId}/hand-over": {
                "post": {
                    "operationId": "handOverRun",
                    "description": "The action's step wrote its pending status and comment: the "
                    "server writes the final report from now on, on that comment.",
                    "parameters": [
                        {
                            "name": "runId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": HAND_OVER}},
                    },
                    "responses": {
                        "200": _json(
                            _closed(
                                {"runId": {"type": "string"}, "handedOver": {"type": "boolean"}},
                                required=["runId", "handedOver"],
                            ),
                            "Handed over",
                        ),
                        "403": _json(_ref("Error"), "An OIDC token of another repository"),
                        "409": _json(_ref("Error"), "The run did not ask the server to report"),
                        **_errors(400, 401, 404),
                    },
                }
            },
            "/api/v1/runs/{runId}": {
                "get": {
                    "operationId": "getRun",
                    "parameters": [
                        {
                            "name": "runId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "wait",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "number", "minimum": 0},
                            "description": "Long poll: hold the request until the status "
                            "changes or this many seconds pass (at most X-Evals-Long-Poll).",
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("Run"), "The run", long_poll),
                        **_errors(401, 404),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "Metrics": METRICS,
                "Dimension": DIMENSION,
                "Report": REPORT,
                "RunContext": CONTEXT,
                "StartRequest": START_REQUEST,
                "StartResponse": START_RESPONSE,
                "Run": RUN,
                "Prompt": PROMPT,
            },
        },
    }
