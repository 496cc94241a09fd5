"""Fixtures for the sound tests: a private JACK server per test (skipped where none can start)."""

from __future__ import annotations

import pytest
from jacktools import JackServer, cannot_run_jack, start_jackd


@pytest.fixture
def jack(tmp_path, monkeypatch) -> JackServer:
    """A private jackd (dummy driver) that this process's JACK clients use; stopped afterwards."""
    why = cannot_run_jack()
    if why:
        pytest.skip(f"no JACK here: {why}")
    try:
        server = start_jackd(tmp_path)
    except (OSError, RuntimeError, TimeoutError) as err:
        pytest.skip(f"jackd cannot start here: {err}")
    for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER", "JACK_NO_AUDIO_RESERVATION"):
        monkeypatch.setenv(key, server.env[key])
    yield server
    server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: runs for minutes on the real clock (started first, "
                                       "so that with -n 2 other tests run beside it)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: pytest-xdist hands tests out in this order, so the others share the
    second worker while a long one runs, instead of all waiting for it at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
