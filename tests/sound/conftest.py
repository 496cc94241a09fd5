"""Fixtures for the sound tests: a private JACK server per test (skipped where none can start),
and a fake python-rtmidi for the tests that need no MIDI system."""

from __future__ import annotations

import sys

import pytest
from fakertmidi import FakeRtMidi
from jacktools import JackServer, cannot_run_jack, start_jackd

from melodyrnn.sound import jack as jack_graph
from melodyrnn.sound import ports, systems


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


@pytest.fixture
def fake_midi(monkeypatch):
    """``fake_midi({JACK: [...], ALSA: error})`` installs a FakeRtMidi instead of python-rtmidi;
    JACK's tools are not consulted and ports close without a pause."""
    monkeypatch.setattr(jack_graph, "listing", lambda: None)
    monkeypatch.setattr(jack_graph, "UNSEEN_LINK_SECONDS", 0.0)
    monkeypatch.setattr(ports, "DRAIN_SECONDS", 0.0)
    monkeypatch.delenv(systems.API_ENV, raising=False)

    def install(systems_: dict, **kwargs) -> FakeRtMidi:
        fake = FakeRtMidi(systems_, **kwargs)
        monkeypatch.setitem(sys.modules, "rtmidi", fake)
        return fake

    return install


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: runs for minutes on the real clock (started first, "
                                       "so that with -n 2 other tests run beside it)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: pytest-xdist hands tests out in this order, so the others share the
    second worker while a long one runs, instead of all waiting for it at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
