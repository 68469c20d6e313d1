"""docs/cli.md shows each command's usage exactly as ``--help`` prints it."""

from pathlib import Path

import pytest

from sklearn_ser.cli import main
from sklearn_ser.pipeline import BUILD_DEFAULTS
from sklearn_ser.recipes import RECIPES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
COMMANDS = ["demo", "cross-validate", "train", "predict", "timeline", "explain"]


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


def _shown(name, value):
    """A recipe's value as the docs' table writes it (without backticks)."""
    if name == "normalize":
        return {True: "global", False: "none"}.get(value, value)
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return {"loss": "none", "class_weight": "none", "chunk_hop_frames": "--chunk-frames",
                "patience": "off", "mel_warp": "off", "speed_perturbation": "off",
                "noise_snr": "off"}[name]
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_the_recipe_table_of_the_docs_is_the_librarys(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["train", "--help"]) == 0
    section = capsys.readouterr().out.split("model and training:\n")[1].split("\n\n", 2)[1]
    flags = {line.split()[0].strip(",").removeprefix("--").replace("-", "_")
             for line in section.splitlines() if line.startswith("  --")}
    lines = DOCS.read_text().split("| flag | `cpu` | `paper` | maps to |\n|---|---|---|---|\n")[1]
    rows = [line.split(" | ")[:3] for line in lines.split("\n\n")[0].splitlines()]
    documented = {}
    for flag, *values in rows:
        name = flag.strip("|` ").split("`")[0].removeprefix("--").replace("-", "_")
        documented[name] = [value.strip("`") for value in values]
    assert set(documented) == flags - {"recipe"}
    assert set(RECIPES) == {"cpu", "paper"}  # the table's columns
    for name, (cpu, paper) in documented.items():
        expected = [_shown(name, RECIPES[recipe].get(name, BUILD_DEFAULTS.get(name)))
                    for recipe in ("cpu", "paper")]
        assert [cpu, paper] == expected, name
