"""Helpers for the command-line tests: run ``main`` in-process and check the one-line contract."""

from __future__ import annotations

from deltaprop.cli import main

TINY = ["--dataset", "higham", "--hidden", "4", "--epochs", "2", "--batch-size", "4", "--quiet"]


def cli(capsys, *argv):
    """(exit code, stdout, stderr) of main(argv) run in-process."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(rc, err, code, fragment):
    """Assert exit ``code`` with exactly one line on stderr containing ``fragment``; return the line."""
    lines = err.strip().splitlines()
    assert rc == code and len(lines) == 1 and "Traceback" not in err, err
    assert fragment in lines[0], lines[0]
    return lines[0]
