// Test-only stand-in for actions/github-script (see ../README.md).
// Runs INPUT_SCRIPT as the body of `async (github, context, core, require) => {...}`.
// github.rest.<namespace>.<method>(params) is served from ROUTES; anything else throws, so a recipe
// that starts using a new endpoint fails the e2e test until the route is added here.
import { appendFileSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";

const ROUTES = {
  "issues.createComment": ["POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"],
  "issues.updateComment": ["PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"],
  "issues.listComments": ["GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"],
  "pulls.get": ["GET", "/repos/{owner}/{repo}/pulls/{pull_number}"],
  "repos.createCommitStatus": ["POST", "/repos/{owner}/{repo}/statuses/{sha}"],
};

const env = process.env;
const apiUrl = (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
const token = env.INPUT_GITHUB_TOKEN || "";

async function request(method, template, params) {
  const rest = { ...params };
  const path = template.replace(/\{(\w+)\}/g, (_, key) => {
    const value = rest[key];
    delete rest[key];
    return encodeURIComponent(String(value));
  });
  let url = apiUrl + path;
  const init = {
    method,
    headers: {
      accept: "application/vnd.github+json",
      authorization: `token ${token}`,
      "user-agent": "github-script-standin",
    },
  };
  if (method === "GET") {
    const query = new URLSearchParams(rest).toString();
    if (query) url += `?${query}`;
  } else {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(rest);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(`${method} ${path} -> HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  return { status: response.status, data, headers: Object.fromEntries(response.headers) };
}

const rest = new Proxy({}, {
  get: (_, namespace) => new Proxy({}, {
    get: (__, method) => {
      const route = ROUTES[`${String(namespace)}.${String(method)}`];
      if (!route) {
        throw new Error(`github-script stand-in: github.rest.${String(namespace)}.${String(method)} is not implemented; add it to ROUTES in tests/e2e/standins/github-script/index.mjs`);
      }
      return (params = {}) => request(route[0], route[1], params);
    },
  }),
});

const payload = env.GITHUB_EVENT_PATH ? JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, "utf8")) : {};
const [owner, repo] = (env.GITHUB_REPOSITORY || "/").split("/");
const context = {
  payload,
  eventName: env.GITHUB_EVENT_NAME,
  sha: env.GITHUB_SHA,
  ref: env.GITHUB_REF,
  workflow: env.GITHUB_WORKFLOW,
  action: env.GITHUB_ACTION,
  actor: env.GITHUB_ACTOR,
  job: env.GITHUB_JOB,
  runId: Number(env.GITHUB_RUN_ID),
  runNumber: Number(env.GITHUB_RUN_NUMBER),
  apiUrl,
  serverUrl: env.GITHUB_SERVER_URL,
  repo: { owner, repo },
  issue: { owner, repo, number: (payload.issue || payload.pull_request || payload).number },
};

function setOutput(name, value) {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  appendFileSync(env.GITHUB_OUTPUT, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

const core = {
  setOutput,
  info: (message) => console.log(message),
  warning: (message) => console.log(`::warning::${message}`),
  setFailed: (message) => {
    console.log(`::error::${message}`);
    process.exitCode = 1;
  },
};

const github = { rest };
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const script = new AsyncFunction("github", "context", "core", "require", env.INPUT_SCRIPT);

appendFileSync(env.E2E_STANDIN_LOG || "/dev/null", "github-script\n");
try {
  const result = await script(github, context, core, createRequire(import.meta.url));
  const encoded = env.INPUT_RESULT_ENCODING === "string" ? String(result ?? "") : JSON.stringify(result ?? null);
  setOutput("result", encoded);
} catch (error) {
  console.log(`::error::Unhandled error: ${error.message}`);
  process.exitCode = 1;
}
