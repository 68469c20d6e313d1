"""docs/cli.md shows each command's usage exactly as ``--help`` prints it."""

from pathlib import Path

import pytest

from sklearn_ser.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
COMMANDS = ["demo", "cross-validate", "train", "predict", "timeline"]


def _words(text):
    return " ".join(text.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_the_usage_block_of_the_docs_is_the_commands(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # the width the docs are written at
    assert main([command, "--help"]) == 0
    usage = capsys.readouterr().out.split("\n\n")[0]
    blocks = [block.split("```")[0] for block in DOCS.read_text().split("```\nusage: ")[1:]]
    documented = [block for block in blocks if block.startswith(f"sklearn-ser {command} ")]
    assert len(documented) == 1
    # the same words; the line breaks may differ between Python versions
    assert _words(f"usage: {documented[0]}") == _words(usage)
