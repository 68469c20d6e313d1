"""The version stamp in pickled estimators: :mod:`sklearn_ser._version`."""

import pickle
import warnings

import pytest

import sklearn_ser
from sklearn_ser import _version
from sklearn_ser._version import VERSION_KEY, add_version, check_version
from sklearn_ser.exceptions import SklearnSerVersionWarning


@pytest.fixture(scope="module")
def pipeline():
    import numpy as np
    from sklearn.pipeline import Pipeline

    from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer

    t = np.arange(8000) / 16000
    signals = [np.sin(2 * np.pi * f * t) * a for f, a in ((150, 0.05), (500, 0.5)) * 2]
    clf = ADCRNNClassifier(module__conv_channels=4, module__dilated_channels=8,
                           module__linear_units=16, module__lstm_units=8,
                           module__embedding_dim=8, max_epochs=1, train_split=None,
                           random_state=0, verbose=0)
    return Pipeline([("features", LogMel3DTransformer(chunk_frames=40, n_mels=20)),
                     ("clf", clf)]).fit(signals, ["sadness", "anger"] * 2)

# -- pickle: version stamp ------------------------------------------------------------------

def test_add_version_stamps_a_copy():
    state = {"a": 1}
    stamped = add_version(state)
    assert stamped == {"a": 1, VERSION_KEY: sklearn_ser.__version__} and state == {"a": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_version(stamped, "X")
    assert VERSION_KEY not in stamped  # consumed, so it never becomes an attribute
    with pytest.warns(SklearnSerVersionWarning, match=r"X from sklearn_ser version unknown"):
        check_version({"a": 1}, "X")


@pytest.mark.parametrize("step", ["features", "clf"])
def test_pickle_records_and_checks_the_version(step, pipeline, monkeypatch):
    estimator = pipeline.named_steps[step]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = pickle.loads(pickle.dumps(estimator))
    assert not hasattr(same, VERSION_KEY)
    monkeypatch.setattr(_version, "__version__", "0.0.1")
    data = pickle.dumps(estimator)
    monkeypatch.undo()
    with pytest.warns(SklearnSerVersionWarning) as record:
        pickle.loads(data)
    warning = record[0].message
    assert warning.estimator_name == type(estimator).__name__
    assert warning.original_sklearn_ser_version == "0.0.1"
    assert warning.current_sklearn_ser_version == sklearn_ser.__version__
    assert "save_model" in str(warning)


def test_build_reads_the_version_without_importing_the_package():
    """pip reads the version before any dependency is installed: the attribute that
    ``pyproject.toml`` names must be a literal setuptools can read from the source."""
    import importlib.util
    import pathlib

    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

    StaticModule = pytest.importorskip("setuptools.config.expand").StaticModule

    root = pathlib.Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    spec = config["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, attribute = spec.rpartition(".")
    static = StaticModule(module, importlib.util.find_spec(module))
    assert getattr(static, attribute) == sklearn_ser.__version__
