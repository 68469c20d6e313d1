"""The front end's one table of defaults and constraints, read by the transformer,
the functions and their docstrings."""

import inspect
import re

import numpy as np
import pytest

from sklearn_ser.features import (
    FRONT_END_DEFAULTS,
    LogMel3DTransformer,
    deltas,
    log_mel_3d,
    log_mel_3d_batch,
    log_mel_spectrogram_batch,
    mel_filterbank,
)
from sklearn_ser.features._params import (
    FRONT_END_CONSTRAINTS,
    FUNCTION_CONSTRAINTS,
    FUNCTION_DEFAULTS,
    check_front_end,
    front_end_problems,
)
from sklearn_ser.utils import check_params

#: The paper's front end (Pham et al. 2020) with psf's choices, as released.
RELEASED = dict(sample_rate=16000, n_mels=40, n_fft=512, frame_seconds=0.025, hop_seconds=0.010,
                f_min=300.0, f_max=8000.0, preemphasis=0.97, window="rectangular", delta_width=2,
                chunk_frames=300, chunk_hop_frames=None, max_chunks=None, normalize=True,
                resampler="soxr", trim_zeros=False, speed_perturbation=None, noise_snr=None,
                random_state=None, precision="float32",
                n_jobs=None, verbose=0)


def _defaults(function):
    return {name: parameter.default
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.default is not inspect.Parameter.empty}


def test_the_table_holds_the_released_defaults_read_only():
    assert dict(FRONT_END_DEFAULTS) == RELEASED
    assert list(FRONT_END_DEFAULTS) == list(_defaults(LogMel3DTransformer))
    with pytest.raises(TypeError):
        FRONT_END_DEFAULTS["n_mels"] = 64


@pytest.mark.parametrize("function", [mel_filterbank, log_mel_spectrogram_batch, log_mel_3d_batch,
                                      log_mel_3d, deltas])
def test_every_function_default_reads_the_table(function):
    table = {**FRONT_END_DEFAULTS, **FUNCTION_DEFAULTS, "width": FRONT_END_DEFAULTS["delta_width"]}
    defaults = {name: value for name, value in _defaults(function).items()
                if name not in ("frame_offsets", "out")}
    assert defaults
    assert defaults == {name: table[name] for name in defaults}


def test_the_defaults_meet_their_constraints_alone_and_together():
    check_params(dict(FRONT_END_DEFAULTS), FRONT_END_CONSTRAINTS, caller="defaults")
    check_params(dict(FUNCTION_DEFAULTS), FUNCTION_CONSTRAINTS, caller="defaults")
    assert front_end_problems(dict(FRONT_END_DEFAULTS)) == []
    # the transformer's table is the same one in scikit-learn's objects
    assert {name: [_described(c) for c in allowed]
            for name, allowed in LogMel3DTransformer._parameter_constraints.items()} == {
        name: [_described(c) for c in allowed] for name, allowed in FRONT_END_CONSTRAINTS.items()}


def _described(constraint):
    """A constraint as plain data, whichever library's object it is."""
    if hasattr(constraint, "closed"):
        return ("interval", constraint.type, constraint.left, constraint.right, constraint.closed)
    if hasattr(constraint, "options"):
        return ("options", constraint.type, frozenset(constraint.options))
    return constraint


@pytest.mark.parametrize("dtype", [np.float32, "float64", ">f8", np.dtype("<f4")])
def test_dtype_takes_float32_and_float64_named_any_way(dtype):
    check_front_end({"dtype": dtype}, caller="f")


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.longdouble, "abc", 3.5])
def test_dtype_refuses_the_rest(dtype):
    with pytest.raises(ValueError, match=r"f: dtype=.* must be float32 or float64"):
        check_front_end({"dtype": dtype}, caller="f")


def test_every_bad_argument_is_named_then_the_ones_that_go_together():
    with pytest.raises(ValueError, match=r"^f: n_mels=0 must be an int in the range \[1, inf\); "
                                         r"window='kaiser' must be a str among"):
        check_front_end({"n_mels": 0, "window": "kaiser", "f_max": 9000}, caller="f")
    problems = front_end_problems(dict(sample_rate=8000, f_min=4500.0, f_max=4400.0,
                                       frame_seconds=0.00001, hop_seconds=0.01, n_fft=64))
    assert problems == [
        "f_min=4500.0 must be < f_max=4400.0",
        "f_max=4400.0 must be <= sample_rate/2 = 4000 Hz (sample_rate=8000)",
        "frame_seconds=1e-05 is shorter than one sample at sample_rate=8000",
    ]
    assert front_end_problems({"n_fft": 64, "frame_seconds": 0.025, "sample_rate": 16000}) == [
        "n_fft=64 must be >= the frame length of 400 samples "
        "(frame_seconds=0.025 at sample_rate=16000)"]
    assert front_end_problems({"f_max": 1e9}) == []  # no sample_rate: nothing to compare with


@pytest.mark.parametrize("obj", [LogMel3DTransformer, mel_filterbank, log_mel_spectrogram_batch,
                                 log_mel_3d_batch, log_mel_3d, deltas])
def test_docstrings_say_each_default_once_from_the_table(obj):
    doc = inspect.getdoc(obj)
    assert not re.search(r"^\s*\{\w+\}$", doc, re.MULTILINE), "a fragment was not filled"
    table = {**FRONT_END_DEFAULTS, "width": FRONT_END_DEFAULTS["delta_width"]}
    for name, value in _defaults(obj).items():
        if name not in table:
            continue
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        if name in ("f_min", "f_max"):
            name, shown = "f_min, f_max", f"{table['f_min']!r}, {table['f_max']!r}"
        assert len(re.findall(rf"^{re.escape(name)} : .*, default={re.escape(shown)}$", doc,
                              re.MULTILINE)) == 1, name
