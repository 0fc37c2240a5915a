"""FakeGitHub's deployments behave like GitHub's: filters, newest first, pages, 404, checked
answers (the `fake_github` fixture fails a test that leaves a violation)."""

from __future__ import annotations

from collections.abc import Iterator

import github
import pytest
import requests

from tests.fakes.github import FakeGitHub

SHA, OTHER = "d1" * 20, "d2" * 20


@pytest.fixture
def http(fake_github: FakeGitHub) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(
            {"Authorization": f"Bearer {fake_github.token}", "User-Agent": "fake-tests"}
        )
        yield session


def _base(fake: FakeGitHub) -> str:
    return f"{fake.url}/repos/{fake.full_name}/deployments"


def test_listing_filters_by_sha_and_environment_newest_first(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    first = fake_github.add_deployment(sha=SHA, statuses=[("success", "https://a.example")])
    other = fake_github.add_deployment(sha=OTHER, statuses=[("success", "https://o.example")])
    second = fake_github.add_deployment(sha=SHA, environment="Production")
    listed = http.get(_base(fake_github), params={"sha": SHA})
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()] == [second, first]
    assert [d["sha"] for d in listed.json()] == [SHA, SHA]
    preview = http.get(_base(fake_github), params={"sha": SHA, "environment": "Preview"}).json()
    assert [(d["id"], d["environment"]) for d in preview] == [(first, "Preview")]
    assert [d["id"] for d in http.get(_base(fake_github)).json()] == [second, other, first]
    assert http.get(_base(fake_github), params={"environment": "Nope"}).json() == []


def test_listings_page_with_the_link_header(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    ids = [fake_github.add_deployment(sha=SHA) for _ in range(3)]
    page1 = http.get(_base(fake_github), params={"sha": SHA, "per_page": 2})
    assert [d["id"] for d in page1.json()] == ids[:0:-1]
    assert 'rel="next"' in page1.headers["Link"]
    assert "sha=" + SHA in page1.headers["Link"]
    next_url = page1.links["next"]["url"]
    assert "/repositories/" in next_url
    assert [d["id"] for d in http.get(next_url).json()] == ids[:1]


def test_statuses_newest_first_and_404_for_an_unknown_deployment(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    deployment = fake_github.add_deployment(
        sha=SHA,
        statuses=[
            ("in_progress", "https://log.example/1"),
            ("success", "https://pr-1.example", "https://env.example"),
        ],
    )
    statuses = http.get(f"{_base(fake_github)}/{deployment}/statuses").json()
    assert [(s["state"], s["target_url"], s["environment_url"]) for s in statuses] == [
        ("success", "https://pr-1.example", "https://env.example"),
        ("in_progress", "https://log.example/1", ""),
    ]
    assert statuses[0]["deployment_url"].endswith(f"/deployments/{deployment}")
    missing = http.get(f"{_base(fake_github)}/{deployment + 100}/statuses")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"


def test_another_repositorys_deployment_is_not_found(
    fake_github: FakeGitHub, http: requests.Session
) -> None:
    elsewhere = fake_github.add_deployment(sha=SHA, repo_full_name="octo-org/other")
    assert http.get(f"{_base(fake_github)}/{elsewhere}/statuses").status_code == 404
    assert http.get(_base(fake_github), params={"sha": SHA}).json() == []


def test_pygithub_reads_deployments_and_their_statuses(fake_github: FakeGitHub) -> None:
    """PyGithub unmodified, as the server's webhook reads use it."""
    fake_github.add_deployment(sha=SHA, statuses=[("failure", "https://x.example")])
    auth = github.Auth.Token(fake_github.token)
    gh = github.Github(base_url=fake_github.url, auth=auth, lazy=True)
    repo = gh.get_repo(fake_github.full_name)
    (deployment,) = repo.get_deployments(sha=SHA)
    (status,) = deployment.get_statuses()
    assert (deployment.environment, status.state, status.target_url) == (
        "Preview",
        "failure",
        "https://x.example",
    )
    gh.close()


def test_a_status_outside_githubs_states_is_refused_when_seeding(fake_github: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="state in"):
        fake_github.add_deployment(sha=SHA, statuses=[("done", "https://x.example")])
