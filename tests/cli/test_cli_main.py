"""The sklearn-ser program: help, version, usage errors, and option defaults."""

import subprocess
import sys

import pytest

from sklearn_ser import __version__
from sklearn_ser.cli import build_parser, main
from sklearn_ser.datasets import DATASETS
from sklearn_ser.features import FRONT_END_DEFAULTS
from sklearn_ser.pipeline import BUILD_DEFAULTS, LOSSES, SCHEDULES, WIDTHS
from sklearn_ser.utils.choices import PRECISIONS

COMMANDS = ["demo", "cross-validate", "train", "predict", "timeline"]


def test_python_m_sklearn_ser_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "sklearn_ser", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sklearn-ser")
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sklearn-ser {command}")
    assert "--threads" in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sklearn-ser {__version__}"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "COMMAND"),
        (["fly"], "invalid choice: 'fly'"),
        (["predict", "m.joblib", "a.wav", "--format", "xml"], "--format"),
        (["cross-validate", "--dataset", "demo", "--cv", "fold5"], "--cv"),
        (["cross-validate", "--dataset", "emodb"], "--root PATH"),
        (["train", "--dataset", "demo", "--groups", "x", "--out", "m.joblib"], "--groups"),
        (["train", "--dataset", "demo", "--label", "x", "--out", "m.joblib"],
         "--label applies to --dataset folder only"),
        (["train", "--dataset", "folder", "--root", ".", "--groups", "(spk", "--out",
          "m.joblib"], "--groups '(spk' is not a valid regular expression"),
        (["timeline", "m.joblib", "a.wav", "--hop", "-1"], "--hop"),
        (["train", "--dataset", "demo", "--out", "m.sser", "--aux-weight", "nan"], "--aux-weight"),
        (["train", "--dataset", "demo", "--out", "m.sser", "--aux-weight", "-1"], "--aux-weight"),
        (["demo", "--n-samples", "10"], "--n-samples"),
        (["cross-validate", "--dataset", "emodb", "--root", ".", "--n-samples", "50"],
         "--n-samples applies to --dataset demo only"),
        (["train", "--dataset", "folder", "--root", ".", "--n-classes", "2", "--out",
          "m.joblib"], "--n-classes applies to --dataset demo only"),
        (["train", "--dataset", "demo", "--n-seeds", "2", "--out", "m.joblib",
          "--checkpoint-dir", "ck"], "--n-seeds 2"),
        (["cross-validate", "--dataset", "demo", "--n-seeds", "0"], "--n-seeds"),
        (["train", "--dataset", "demo", "--seed", "-1", "--n-seeds", "2", "--out", "m.sser"],
         "'seed-1'"),
        (["train", "--dataset", "demo", "--n-seeds", "65", "--out", "m.sser"], "not 65"),
        (["train", "--dataset", "demo", "--root", ".", "--out", "m.sser"],
         "--root does not apply to --dataset demo"),
        (["train", "--dataset", "demo", "--on-error", "skip", "--out", "m.sser"],
         "--on-error applies to a corpus"),
        (["train", "--dataset", "emodb", "--root", ".", "--extensions", ".aiff", "--out",
          "m.sser"], "--extensions applies to --dataset folder only"),
        (["train", "--dataset", "folder", "--root", ".", "--extensions", ".wav", "aiff",
          "--out", "m.sser"], "--extensions takes endings that start with a dot, e.g. .aiff"),
        # before any feature is computed, not after
        (["train", "--dataset", "demo", "--chunk-frames", "2", "--out", "m.sser"],
         "--chunk-frames 2 is too short for ADCRNN, which needs chunks of at least 4"),
        (["cross-validate", "--dataset", "demo", "--model", "acrnn", "--chunk-frames", "1"],
         "--chunk-frames 1 is too short for ACRNN"),
    ],
)
def test_usage_errors_exit_2_with_one_line(one_line_error, argv, fragment):
    assert main(argv) == 2
    one_line_error(fragment)


@pytest.mark.parametrize("message", [
    "/c/x.wav: the signal is empty (0 samples)",
    "cannot decode audio file '/c/x.wav': the file is empty (0 bytes)",
    "[Errno 2] audio file not found (a broken link?): '/c/x.wav'",
])
def test_a_skip_line_names_the_file_once(message):
    from sklearn_ser.cli._console import strip_name

    reason = strip_name(message, "/c/x.wav")
    assert "/c/x.wav" not in reason and not reason.endswith(":")
    assert reason.split()[-1] in ("samples)", "bytes)", "link?)")


def _train_args(*options):
    return build_parser().parse_args(["train", "--dataset", "demo", "--out", "m.sser", *options])


def test_training_defaults_are_build_pipelines():
    args = _train_args()
    options = {name: getattr(args, name) for name in BUILD_DEFAULTS
               if name not in ("chunk_hop_frames", "schedule", "verbose")}
    expected = {name: value for name, value in BUILD_DEFAULTS.items() if name in options}
    assert options == expected
    assert args.chunk_hop == BUILD_DEFAULTS["chunk_hop_frames"]
    # the front end's options: its own table, which build_pipeline agrees with
    assert (args.chunk_frames, args.chunk_hop, args.trim_zeros) == (
        FRONT_END_DEFAULTS["chunk_frames"], FRONT_END_DEFAULTS["chunk_hop_frames"],
        FRONT_END_DEFAULTS["trim_zeros"])
    assert args.schedule == ("constant" if BUILD_DEFAULTS["schedule"] is None
                             else BUILD_DEFAULTS["schedule"])
    # a flag turns its default over
    flags = _train_args("--augment", "--trim-zeros", "--no-shuffle")
    assert (flags.augment, flags.trim_zeros, flags.shuffle) == (
        not BUILD_DEFAULTS["augment"], not BUILD_DEFAULTS["trim_zeros"],
        not BUILD_DEFAULTS["shuffle"])


@pytest.mark.parametrize(("option", "choices"), [
    ("--precision", PRECISIONS),
    ("--loss", LOSSES),
    ("--model", tuple(WIDTHS)),
    ("--width", tuple(WIDTHS["adcrnn"])),
    ("--schedule", tuple("constant" if s is None else s for s in SCHEDULES)),
    ("--dataset", DATASETS),
])
def test_choices_are_the_librarys(option, choices, capsys):
    assert main(["train", "--help"]) == 0
    assert f"{option} {{{','.join(choices)}}}" in capsys.readouterr().out


@pytest.mark.parametrize(("message", "expected"), [
    ("chunk_frames=2 is too short", "--chunk-frames 2 is too short"),
    ("patience=3 needs a split: set valid_fraction > 0", "--patience 3 needs a split: set "
                                                         "--valid-fraction > 0"),
    ("cv='group5' needs 5 speakers; use cv='loso'", "--cv group5 needs 5 speakers; use --cv loso"),
])
def test_library_errors_that_name_a_parameter_become_usage_errors(message, expected):
    from sklearn_ser.cli._parser import UsageError, usage_errors

    options = {"chunk_frames": "--chunk-frames", "patience": "--patience",
               "valid_fraction": "--valid-fraction", "cv": "--cv"}
    with pytest.raises(UsageError) as info, usage_errors(options):
        raise ValueError(message)
    assert str(info.value) == expected


def test_library_errors_that_name_no_parameter_are_raised_as_they_are():
    from sklearn_ser.cli._parser import UsageError, usage_errors

    with pytest.raises(ValueError) as info, usage_errors({"cv": "--cv"}):
        raise ValueError("the cv folds and --cv are fine")
    assert str(info.value) == "the cv folds and --cv are fine"
    assert not isinstance(info.value, UsageError)
