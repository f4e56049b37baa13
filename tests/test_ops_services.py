"""The conftest hook behind HOTRO_REQUIRE_SERVICES: skip locally, fail in CI, when a service is missing."""

from __future__ import annotations

import pytest

import conftest


class FakeItem:
    def __init__(self, *markers: str):
        self.markers = set(markers)

    def get_closest_marker(self, name):
        return name if name in self.markers else None


@pytest.fixture
def no_services(monkeypatch):
    monkeypatch.setattr(conftest, "redis_problem", lambda: "Redis: cannot connect to 127.0.0.1:1")
    monkeypatch.setattr(conftest, "browser_problem", lambda: "Chromium is not installed at /nowhere")
    monkeypatch.setattr(conftest, "postgres_problem", lambda: "cannot connect to 127.0.0.1:1")


@pytest.mark.parametrize("marker", ["redis", "browser"])
def test_it_skips_a_test_whose_service_is_missing(monkeypatch, no_services, marker):
    monkeypatch.delenv("HOTRO_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="service unavailable"):
        conftest.pytest_runtest_setup(FakeItem(marker))


@pytest.mark.parametrize(("marker", "message"), [("redis", "Redis"), ("browser", "Chromium")])
def test_it_fails_a_test_whose_service_is_missing_when_services_are_required(
    monkeypatch, no_services, marker, message
):
    monkeypatch.setenv("HOTRO_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match=f"Required service unavailable.*{message}"):
        conftest.pytest_runtest_setup(FakeItem(marker))


def test_it_skips_postgres_tests_on_sqlite_even_when_services_are_required(monkeypatch, no_services):
    monkeypatch.setenv("HOTRO_REQUIRE_SERVICES", "1")
    monkeypatch.setattr(conftest, "database_is_postgres", lambda: False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL pass"):
        conftest.pytest_runtest_setup(FakeItem("postgres"))


def test_it_fails_postgres_tests_when_postgres_is_down_and_required(monkeypatch, no_services):
    monkeypatch.setenv("HOTRO_REQUIRE_SERVICES", "1")
    monkeypatch.setattr(conftest, "database_is_postgres", lambda: True)
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL: cannot connect"):
        conftest.pytest_runtest_setup(FakeItem("postgres"))


def test_it_lets_a_test_run_when_its_services_answer(monkeypatch):
    monkeypatch.setenv("HOTRO_REQUIRE_SERVICES", "1")
    monkeypatch.setattr(conftest, "redis_problem", lambda: None)
    monkeypatch.setattr(conftest, "browser_problem", lambda: None)
    assert conftest.pytest_runtest_setup(FakeItem("redis", "browser", "slow")) is None


def test_it_finds_a_closed_port_unavailable():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        assert "cannot connect" in conftest._tcp_problem("127.0.0.1", port)


@pytest.mark.redis
def test_the_ci_redis_answers():
    assert conftest.redis_problem() is None


@pytest.mark.browser
def test_the_ci_chromium_is_installed():
    assert conftest.browser_problem() is None
