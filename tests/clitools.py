"""Running the command line in tests."""

from __future__ import annotations

import signal

from click.testing import CliRunner

from melodyrnn.cli import main


def run(*args: object, ok: bool = True):
    """Invoke ``melodyrnn ARGS``; check it succeeded, or failed cleanly without a traceback."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    return result



def assert_repeatable_and_refused_with_beam(args: list, option: str) -> None:
    """``melodyrnn ARGS`` (a sampling option among them) prints the same twice, and with
    --beam is refused, naming ``option`` and --beam."""
    assert run(*args).stdout == run(*args).stdout
    refused = run(*args, "--beam", "2", ok=False)
    assert option in refused.output and "--beam" in refused.output

def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` for a command a test will interrupt: Ctrl-C (SIGINT) does what it does at
    a terminal, even where the tests run as a background job (which ignores SIGINT, and a
    child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
