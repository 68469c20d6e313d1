"""save_model / load_model (zip of JSON + safetensors) and the pickle version check."""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import joblib
import numpy as np
import pytest
import safetensors.torch
import torch
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import EpochTimer

from sklearn_ser import ACRNNClassifier, ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.exceptions import SklearnSerError, SklearnSerVersionWarning
from sklearn_ser.nn import ADCRNN
from sklearn_ser.persistence import ModelFileError, load_model, save_model

TINY = {
    ADCRNNClassifier: dict(module__conv_channels=4, module__dilated_channels=8,
                           module__linear_units=16, module__lstm_units=8,
                           module__embedding_dim=8, module__dropout=0.0),
    ACRNNClassifier: dict(module__conv_channels=4, module__stacked_channels=8,
                          module__n_stacked=2, module__linear_units=16, module__lstm_units=8,
                          module__embedding_dim=8),
}


def make_clf(cls=ADCRNNClassifier, **params):
    defaults = dict(lr=3e-3, max_epochs=2, batch_size=8, train_split=None, random_state=0,
                    verbose=0)
    return cls(**{**TINY[cls], **defaults, **params})


def tones(n_per_class=4, seed=0):
    rng = np.random.default_rng(seed)
    signals = []
    for f0, amplitude in ((150.0, 0.05), (500.0, 0.5)):
        for _ in range(n_per_class):
            t = np.arange(int(rng.uniform(0.5, 2.0) * 16000)) / 16000
            signals.append(amplitude * np.sin(2 * np.pi * f0 * t)
                           + 0.005 * rng.standard_normal(t.size))
    return signals


@pytest.fixture(scope="module")
def signals():
    return tones()


@pytest.fixture(scope="module")
def labels():
    return np.array(["sadness"] * 4 + ["anger"] * 4)


@pytest.fixture(scope="module")
def pipelines(signals, labels, tmp_path_factory):
    """A fitted pipeline of each network, and its model file."""
    folder = tmp_path_factory.mktemp("models")
    fitted = {}
    for cls in (ADCRNNClassifier, ACRNNClassifier):
        clf = make_clf(cls, criterion__aux_weight=0.5,
                       optimizer__param_groups=[("center_loss.*", {"lr": 0.25})])
        pipe = Pipeline([("features", LogMel3DTransformer(chunk_frames=60, n_mels=20)),
                         ("clf", clf)]).fit(signals, labels)
        fitted[cls.__name__] = pipe, save_model(pipe, folder / f"{cls.__name__}.zip")
    return fitted


@pytest.fixture(params=["ADCRNNClassifier", "ACRNNClassifier"])
def pipeline(request, pipelines):
    return pipelines[request.param][0]


@pytest.fixture
def saved(pipelines, pipeline):
    return next(path for pipe, path in pipelines.values() if pipe is pipeline)


def rewrite(path, target, *, metadata=None, weights=None, members=None):
    """Copy of a model file with its metadata or weights changed by a function."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    if metadata is not None:
        document = json.loads(contents["metadata.json"])
        metadata(document)
        contents["metadata.json"] = json.dumps(document).encode()
    if weights is not None:
        tensors = safetensors.torch.load(contents["weights.safetensors"])
        weights(tensors)
        contents["weights.safetensors"] = safetensors.torch.save(tensors)
    contents.update(members or {})
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return target


def classifier_entry(document):
    return document["steps"][-1]


# -- round trip -----------------------------------------------------------------------------

def test_round_trip_in_a_fresh_process_without_pickle(pipelines, vote_saved, signals, tmp_path):
    signals_file = tmp_path / "signals.npz"
    np.savez(signals_file, *signals)
    models = {**pipelines, "vote": vote_saved}
    paths = {name: str(path) for name, (_, path) in models.items()}
    # Every way into pickle is shut, and warnings are errors.
    code = textwrap.dedent(f"""
        import pickle, _pickle, warnings
        import numpy as np, skorch, torch
        import sklearn_ser.nn
        from sklearn_ser.persistence import load_model

        def refuse(*args, **kwargs):
            raise AssertionError("load_model must not unpickle")

        class RefusingUnpickler(pickle.Unpickler):
            __init__ = refuse

        for module in (pickle, _pickle):
            module.load = module.loads = refuse
            module.Unpickler = RefusingUnpickler
        torch.load = refuse
        warnings.simplefilter("error")

        data = np.load({str(signals_file)!r})
        signals = [data[f"arr_{{i}}"] for i in range(len(data.files))]
        for name, path in {paths!r}.items():
            model = load_model(path)
            np.save({str(tmp_path)!r} + f"/{{name}}.npy", model.predict_proba(signals))
            clf = model.named_steps["clf"]
            clf = getattr(clf, "estimators_", [clf])[0]  # a vote's first network
            print(clf.device, clf.device_, clf.get_params()["device"])
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cpu", "cpu", "auto"] * 3  # device="auto" re-resolved
    for name, (pipe, _) in models.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"),
                                      pipe.predict_proba(signals))


def test_loaded_model_has_the_parameters_and_fitted_state(pipeline, saved):
    loaded = load_model(saved)
    assert [name for name, _ in loaded.steps] == ["features", "clf"]
    front, clf = loaded.named_steps["features"], loaded.named_steps["clf"]
    original_front, original = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    assert front.get_params() == original_front.get_params()
    np.testing.assert_array_equal(front.mean_, original_front.mean_)
    np.testing.assert_array_equal(front.scale_, original_front.scale_)
    assert front.n_frames_seen_ == original_front.n_frames_seen_
    assert front.chunk_shape_ == original_front.chunk_shape_
    assert type(clf) is type(original) and type(clf.module_) is type(original.module_)
    for key in ("lr", "max_epochs", "batch_size", "precision", "aggregate", "random_state",
                "device", "criterion__aux_weight", "module__lstm_units", "optimizer"):
        assert clf.get_params()[key] == original.get_params()[key], key
    assert clf.get_params()["optimizer__param_groups"] == [["center_loss.*", {"lr": 0.25}]]
    assert clf.input_shape_ == original.input_shape_
    np.testing.assert_array_equal(clf.classes_, original.classes_)
    assert torch.equal(clf.criterion_.center_loss.centers, original.criterion_.center_loss.centers)
    for (key, value), expected in zip(clf.module_.state_dict().items(),
                                      original.module_.state_dict().values(), strict=True):
        assert torch.equal(value, expected), key  # batch-norm statistics included


def test_every_fitted_attribute_of_the_front_end_is_stored(saved):
    front = load_model(saved).named_steps["features"]
    fitted = LogMel3DTransformer(chunk_frames=60, n_mels=20).fit([np.ones(4000)])
    public = {key for key in vars(fitted) if key.endswith("_") and not key.startswith("_")}
    assert public == {"mean_", "scale_", "n_frames_seen_", "chunk_shape_"}
    assert all(hasattr(front, key) for key in public)


@pytest.mark.parametrize("labels", [
    np.array(["anger", "sadness"] * 4),
    np.array([3, 7] * 4),
    np.array([False, True] * 4),
], ids=["str", "int", "bool"])
def test_a_bare_classifier_keeps_its_label_dtype(labels, signals, tmp_path):
    X = LogMel3DTransformer(chunk_frames=60, n_mels=20).fit_transform(signals)
    clf = make_clf(max_epochs=1).fit(X, labels)
    loaded = load_model(save_model(clf, tmp_path / "clf.zip"))
    assert type(loaded) is ADCRNNClassifier
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.predict(X).dtype == clf.predict(X).dtype


def test_load_leaves_torch_random_generator_alone(saved):
    before = torch.get_rng_state()
    load_model(saved)
    assert torch.equal(torch.get_rng_state(), before)


def test_explicit_cuda_device_falls_back_to_the_cpu(saved, tmp_path, signals):
    path = rewrite(saved, tmp_path / "cuda.zip",
                   metadata=lambda d: classifier_entry(d)["params"].update(device="cuda"))
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.warns(UserWarning, match=r"device='cuda'.*loading it on the CPU"):
        loaded = load_model(path)
    assert loaded.named_steps["clf"].device_ == "cpu"
    assert load_model(saved, device="cpu").named_steps["clf"].get_params()["device"] == "cpu"


def test_an_explicit_device_this_machine_lacks_is_named_before_reading(saved):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for device, problem in (("cuda", "this machine does not have it"),
                            ("meta", "holds no weights"), ("gpu0", "not a torch device")):
        with pytest.raises(ValueError, match=rf"device='{device}': .*{problem}") as info:
            load_model(saved, device=device)
        assert not isinstance(info.value, ModelFileError)  # the argument, not the file


@pytest.mark.parametrize("saved_device, outcome", [
    ("mps", "cpu"),  # a Mac's model on a machine without MPS: the CPU, with a warning
    ("cuda:7", "cpu"),
    ("meta", "holds no weights"),  # no device for weights: the file is refused
    ("gpu0", "not a torch device"),
])
def test_a_saved_device_this_machine_lacks(saved_device, outcome, saved, tmp_path, signals):
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has a GPU")
    path = rewrite(saved, tmp_path / "device.zip",
                   metadata=lambda d: classifier_entry(d)["params"].update(device=saved_device))
    if outcome == "cpu":
        with pytest.warns(UserWarning, match=rf"device='{saved_device}'.*on the CPU"):
            loaded = load_model(path)
        assert loaded.named_steps["clf"].device_ == "cpu"
        np.testing.assert_array_equal(loaded.predict_proba(signals),
                                      load_model(saved).predict_proba(signals))
    else:
        with pytest.raises(ModelFileError, match=rf"device='{saved_device}': .*{outcome}"):
            load_model(path)


def test_a_model_loads_and_predicts_under_a_float64_default_dtype(saved, pipeline, signals):
    expected = pipeline.predict_proba(signals)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        loaded = load_model(saved)
        np.testing.assert_array_equal(loaded.predict_proba(signals), expected)
    finally:
        torch.set_default_dtype(previous)


def test_runtime_settings_are_neither_saved_nor_taken_from_a_file(pipeline, signals, labels,
                                                                  tmp_path):
    pipe = clone(pipeline).set_params(features__n_jobs=2, clf__iterator_valid__num_workers=3,
                                      clf__compile=False)
    pipe.fit(signals, labels)
    path = save_model(pipe, tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        steps = json.loads(archive.read("metadata.json"))["steps"]
    stored = {key for step in steps for key in step["params"]}
    assert not stored & {"n_jobs", "iterator_valid__num_workers", "compile"}

    def ask_for_workers(document):
        document["steps"][0]["params"]["n_jobs"] = 4
        classifier_entry(document)["params"].update(iterator_valid__num_workers=6, compile=True)

    loaded = load_model(rewrite(path, tmp_path / "edited.zip", metadata=ask_for_workers))
    params = loaded.get_params()
    assert params["features__n_jobs"] is None and params["clf__compile"] is False
    assert "clf__iterator_valid__num_workers" not in params


def test_a_net_given_its_weights_with_load_params_can_be_saved(pipeline, signals, tmp_path):
    fitted = pipeline.named_steps["clf"]
    fitted.save_params(f_params=tmp_path / "params.pt", f_criterion=tmp_path / "criterion.pt")
    clf = clone(fitted).set_params(classes=list(fitted.classes_), module__n_mels=20)
    clf.initialize()
    clf.load_params(f_params=tmp_path / "params.pt", f_criterion=tmp_path / "criterion.pt")
    assert not hasattr(clf, "input_shape_")
    with pytest.raises(NotFittedError, match="has no input_shape_"):
        save_model(clf, tmp_path / "alone.zip")
    pipe = Pipeline([("features", pipeline.named_steps["features"]), ("clf", clf)])
    loaded = load_model(save_model(pipe, tmp_path / "model.zip"))
    assert loaded.named_steps["clf"].input_shape_ == fitted.input_shape_
    np.testing.assert_array_equal(loaded.predict_proba(signals), pipeline.predict_proba(signals))


def test_concurrent_saves_to_one_path_leave_a_valid_file(pipeline, signals, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    target = tmp_path / "shared.zip"
    mine = tmp_path / "shared.zip.tmp"  # a file of the user's, named like a temporary
    mine.write_text("keep me")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: save_model(pipeline, target), range(8)))
    np.testing.assert_array_equal(load_model(target).predict_proba(signals),
                                  pipeline.predict_proba(signals))
    assert mine.read_text() == "keep me"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shared.zip", "shared.zip.tmp"]


def test_unstorable_parameters_are_listed_and_reset(signals, labels, tmp_path):
    clf = make_clf(max_epochs=1, callbacks=[("timer", EpochTimer())])
    pipe = Pipeline([("features", LogMel3DTransformer(chunk_frames=60, n_mels=20)),
                     ("clf", clf)], memory=str(tmp_path / "cache")).fit(signals, labels)
    path = save_model(pipe, tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert classifier_entry(metadata)["dropped_params"] == ["callbacks"]
    loaded = load_model(path)
    assert loaded.memory is None and loaded.named_steps["clf"].callbacks is None


def test_save_is_atomic(saved, pipeline, tmp_path, monkeypatch):
    target = tmp_path / "model.zip"
    target.write_bytes(saved.read_bytes())

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail)
    with pytest.raises(OSError, match="No space"):
        save_model(pipeline, target)
    assert target.read_bytes() == saved.read_bytes()
    assert [path.name for path in tmp_path.iterdir()] == ["model.zip"]


def test_save_errors_name_the_path_asked_for_not_the_temporary_file(pipeline, tmp_path):
    missing = tmp_path / "nodir" / "x.sser"
    with pytest.raises(FileNotFoundError, match="folder of the file not found") as info:
        save_model(pipeline, missing)
    assert info.value.filename == str(missing.parent) and ".tmp" not in str(info.value)
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        save_model(pipeline, tmp_path)
    assert info.value.filename == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_what_it_cannot_store_safely(signals, labels, tmp_path):
    with pytest.raises(NotFittedError):
        save_model(make_clf(), tmp_path / "unfitted.zip")
    with pytest.raises(TypeError, match="LogMel3DTransformer"):
        save_model(Pipeline([("scale", StandardScaler()), ("clf", make_clf())]),
                   tmp_path / "other.zip")
    X = LogMel3DTransformer(chunk_frames=60, n_mels=20).fit_transform(signals)
    custom = make_clf(module=type("MyNet", (ADCRNN,), {}), max_epochs=1)
    with pytest.raises(TypeError, match=r"module=ADCRNN/ACRNN only.*joblib"):
        save_model(custom.fit(X, labels), tmp_path / "custom.zip")
    search = GridSearchCV(make_clf(max_epochs=1), {"lr": [1e-3]}, cv=2).fit(X, labels)
    with pytest.raises(TypeError, match=r"got GridSearchCV .* Save its best_estimator_"):
        save_model(search, tmp_path / "search.sser")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["model.joblib", "model.PKL", "model.pickle.gz"])
def test_save_refuses_a_name_that_promises_a_pickle(saved, pipeline, name, tmp_path):
    # joblib.load of such a file failed with "persistent IDs in protocol 0 must be ASCII"
    with pytest.raises(ValueError, match=r"named like a joblib pickle .* joblib\.load cannot "
                                         r"read: give it another name"):
        save_model(pipeline, tmp_path / name)
    assert not list(tmp_path.iterdir())


# -- untrusted, tampered and damaged files --------------------------------------------------

def _set(path, value):
    def edit(document):
        node = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return edit


TAMPERED_METADATA = {
    "classifier class outside the allow-list": (
        _set(["steps", -1, "class"], "os.system"), r"'os\.system', which is not one of"),
    "front-end class outside the allow-list": (
        _set(["steps", 0, "class"], "subprocess.Popen"), r"not one of \['LogMel3DTransformer'"),
    "module outside the allow-list": (
        _set(["steps", -1, "params", "module"], "torch.nn.Module"), r"module 'torch\.nn\.Module'"),
    "criterion outside the allow-list": (
        _set(["steps", -1, "params", "criterion"], "builtins.eval"), r"criterion 'builtins"),
    "optimizer outside torch.optim": (
        _set(["steps", -1, "params", "optimizer"], "__import__"), r"not a torch\.optim"),
    "parameter that turns weights_only off": (
        _set(["steps", -1, "params", "torch_load_kwargs"], {"weights_only": False}),
        "cannot be restored"),
    "unknown parameter": (
        _set(["steps", -1, "params", "module__not_a_width"], 3), "not_a_width"),
    "invalid parameter value": (
        _set(["steps", 0, "params", "window"], "blackman"), "window"),
    "widths that do not fit the weights": (
        _set(["steps", -1, "params", "module__lstm_units"], 9), r"wrong shape: .*lstm"),
    "widths asking for a huge network": (
        _set(["steps", -1, "params", "module__lstm_units"], 10**6), r"wrong shape"),
    "n_mels that does not fit the statistics": (
        _set(["steps", 0, "params", "n_mels"], 26), r"mean_ has shape \(3, 20\)"),
    "label dtype outside the allow-list": (
        _set(["steps", -1, "fitted", "classes_", "dtype"], "V8"), "dtype"),
    "labels that do not fit their dtype": (
        _set(["steps", -1, "fitted", "classes_", "dtype"], "<U3"), "do not fit dtype"),
    "input shape that differs from the front end": (
        _set(["steps", -1, "fitted", "input_shape_"], [3, 61, 20]), r"input_shape_"),
    "newer format": (_set(["format_version"], 99), r"format version 99 is newer"),
    "another format": (_set(["format"], "pickle"), "does not declare format"),
}


@pytest.mark.parametrize("case", list(TAMPERED_METADATA))
def test_tampered_metadata_is_refused(case, saved, tmp_path):
    edit, message = TAMPERED_METADATA[case]
    path = rewrite(saved, tmp_path / "tampered.zip", metadata=edit)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SklearnSerError)


def _set_tensor(key, make):
    def edit(tensors):
        tensors[key] = make(tensors[key])
    return edit


TAMPERED_WEIGHTS = {
    "centers of the wrong shape": (
        _set_tensor("classifier.criterion_.center_loss.centers", lambda t: torch.zeros(3, 8)),
        r"criterion weights do not fit .*center_loss\.centers: \(3, 8\) instead of \(2, 8\)"),
    "a missing tensor": (
        lambda tensors: tensors.pop("classifier.criterion_.center_loss.centers"),
        r"missing: center_loss\.centers"),
    "NaN weights": (
        _set_tensor("classifier.criterion_.center_loss.centers",
                    lambda t: torch.full_like(t, float("nan"))), "holds NaN or inf"),
    "statistics of the wrong dtype": (
        _set_tensor("features.scale_", lambda t: t.float()), "float32"),
}


@pytest.mark.parametrize("case", list(TAMPERED_WEIGHTS))
def test_tampered_weights_are_refused(case, saved, tmp_path):
    edit, message = TAMPERED_WEIGHTS[case]
    path = rewrite(saved, tmp_path / "tampered.zip", weights=edit)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


# -- a soft vote of networks (build_pipeline(n_seeds=N)) ----------------------------------

@pytest.fixture(scope="module")
def vote_saved(signals, labels, tmp_path_factory):
    """A fitted pipeline ending in a soft vote of an ADCRNN and an ACRNN, and its file."""
    vote = VotingClassifier([("seed0", make_clf(max_epochs=1)),
                             ("acrnn_1", make_clf(ACRNNClassifier, max_epochs=1,
                                                  random_state=1))],
                            voting="soft", weights=[2.0, 1.0], n_jobs=2)
    pipe = Pipeline([("features", LogMel3DTransformer(chunk_frames=60, n_mels=20)),
                     ("clf", vote)]).fit(signals, labels)
    return pipe, save_model(pipe, tmp_path_factory.mktemp("vote") / "vote.sser")


def test_a_soft_vote_round_trips(vote_saved, signals, saved):
    pipe, path = vote_saved
    loaded = load_model(path)
    vote, original = loaded.named_steps["clf"], pipe.named_steps["clf"]
    assert isinstance(vote, VotingClassifier) and vote.voting == "soft"
    assert vote.weights == [2.0, 1.0] and [n for n, _ in vote.estimators] == ["seed0", "acrnn_1"]
    assert [type(m) for m in vote.estimators_] == [ADCRNNClassifier, ACRNNClassifier]
    assert vote.named_estimators_["acrnn_1"] is vote.estimators_[1]
    np.testing.assert_array_equal(vote.classes_, original.classes_)
    assert vote.classes_.tolist() == ["anger", "sadness"]
    np.testing.assert_array_equal(loaded.predict_proba(signals), pipe.predict_proba(signals))
    np.testing.assert_array_equal(loaded.predict(signals), pipe.predict(signals))
    for member, expected in zip(vote.estimators_, original.estimators_, strict=True):
        assert member.get_params()["random_state"] == expected.get_params()["random_state"]
    # a vote needs format 2; a single network's file stays readable by version 1
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("metadata.json"))["format_version"] == 2
    with zipfile.ZipFile(saved) as archive:
        assert json.loads(archive.read("metadata.json"))["format_version"] == 1


def test_a_reader_of_format_1_asks_for_an_upgrade(vote_saved, monkeypatch):
    monkeypatch.setattr("sklearn_ser.persistence._load.FORMAT_VERSION", 1)
    with pytest.raises(ModelFileError, match=r"format version 2 is newer .* upgrade"):
        load_model(vote_saved[1])


def test_save_refuses_a_vote_it_cannot_store(signals, labels, tmp_path):
    X = LogMel3DTransformer(chunk_frames=60, n_mels=20).fit_transform(signals)
    hard = VotingClassifier([("a", make_clf(max_epochs=1))], voting="hard").fit(X, labels)
    with pytest.raises(TypeError, match="voting='soft' only"):
        save_model(hard, tmp_path / "hard.sser")
    odd = VotingClassifier([("a.b", make_clf(max_epochs=1))], voting="soft").fit(X, labels)
    with pytest.raises(TypeError, match=r"identifiers like 'seed0'.*'a\.b'"):
        save_model(odd, tmp_path / "odd.sser")
    negative = VotingClassifier([("a", make_clf(max_epochs=1)), ("b", make_clf(max_epochs=1))],
                                voting="soft", weights=[1.0, -0.5]).fit(X, labels)
    with pytest.raises(ValueError, match="non-negative"):  # load_model would refuse it
        save_model(negative, tmp_path / "negative.sser")
    mixed = VotingClassifier([("a", make_clf(max_epochs=1)), ("b", StandardScaler())])
    with pytest.raises(TypeError, match="VotingClassifier of them"):
        save_model(mixed, tmp_path / "mixed.sser")
    assert not list(tmp_path.iterdir())


TAMPERED_VOTES = {
    "member class outside the allow-list": (
        _set(["steps", -1, "members", 0, "class"], "os.system"), r"member 'seed0' names class"),
    "member name that is a path": (
        _set(["steps", -1, "members", 1, "name"], "../x"), "member names"),
    "member named after a VotingClassifier parameter": (
        _set(["steps", -1, "members", 1, "name"], "weights"), "not a VotingClassifier param"),
    "twice the same member name": (
        _set(["steps", -1, "members", 1, "name"], "seed0"), "repeat"),
    "65 members": (
        _set(["steps", -1, "members"], [{"name": f"m{i}"} for i in range(65)]), "1 to 64"),
    "hard voting": (_set(["steps", -1, "params", "voting"], "hard"), "voting='hard'"),
    "weights of another length": (
        _set(["steps", -1, "params", "weights"], [1.0]), r"weights=\[1\.0\]"),
    "negative weights": (
        _set(["steps", -1, "params", "weights"], [1.0, -2.0]), "non-negative"),
    "zero weights": (_set(["steps", -1, "params", "weights"], [0, 0]), "not all 0"),
    "weights whose sum overflows": (
        _set(["steps", -1, "params", "weights"], [1e308, 1e308]), "finite"),
    "a weight beyond float": (  # refused as it is parsed, before any float() of it
        _set(["steps", -1, "params", "weights"], [10**400, 1]), "integer of 401 digits"),
    "a flag that is not a boolean": (
        _set(["steps", -1, "params", "flatten_transform"], "false"), "true or false"),
    "a member with more outputs than labels": (
        _set(["steps", -1, "members", 0, "params", "module__n_classes"], 3),
        r"member 'seed0': module__n_classes=3 but classes_ has 2"),
    "labels of a huge dtype": (
        _set(["steps", -1, "fitted", "classes_", "dtype"], "<U50000000"), "far wider"),
    "member labels that are not indices": (
        _set(["steps", -1, "members", 0, "fitted", "classes_", "values"], [1, 2]),
        r"member 'seed0' has classes_ \[1, 2\]"),
    "unsorted labels": (
        _set(["steps", -1, "fitted", "classes_", "values"], ["sadness", "anger"]), "not sorted"),
    "no members": (_set(["steps", -1, "members"], []), "1 to 64 networks, not 0"),
    "a vote in a format-1 file": (_set(["format_version"], 1), "needs format_version 2"),
    "a member's input shape": (
        _set(["steps", -1, "members", 1, "fitted", "input_shape_"], [3, 61, 20]),
        r"members' input_shape_ differ: \[\(3, 60, 20\), \(3, 61, 20\)\]"),
}


@pytest.mark.parametrize("case", list(TAMPERED_VOTES))
def test_a_tampered_vote_is_refused(case, vote_saved, tmp_path):
    edit, message = TAMPERED_VOTES[case]
    path = rewrite(vote_saved[1], tmp_path / "tampered.sser", metadata=edit)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_a_vote_member_never_reads_another_members_weights(signals, labels, tmp_path):
    X = LogMel3DTransformer(chunk_frames=60, n_mels=20).fit_transform(signals)
    vote = VotingClassifier([(name, make_clf(max_epochs=1)) for name in ("seed1", "seed10")],
                            voting="soft").fit(X, labels)
    path = save_model(vote, tmp_path / "vote.sser")
    np.testing.assert_array_equal(load_model(path).predict_proba(X), vote.predict_proba(X))

    def drop_seed1(tensors):  # "classifier.seed1." must not find "classifier.seed10." keys
        for key in [k for k in tensors if k.startswith("classifier.seed1.module_.")]:
            del tensors[key]
    tampered = rewrite(path, tmp_path / "tampered.sser", weights=drop_seed1)
    with pytest.raises(ModelFileError, match=r"VotingClassifier\): member 'seed1': the module "):
        load_model(tampered)

    def add_stray(tensors):  # a member dropped from the metadata leaves its weights behind
        tensors["classifier.seed2.module_.x"] = torch.zeros(1)
    stray = rewrite(path, tmp_path / "stray.sser", weights=add_stray)
    with pytest.raises(ModelFileError, match=r"tensors that no step reads: \['classifier\.seed2"):
        load_model(stray)


def test_a_loaded_vote_is_as_fit_leaves_it(vote_saved, signals):
    pipe, path = vote_saved
    loaded = load_model(path)
    vote = loaded.named_steps["clf"]
    # `estimators` are unfitted templates, so set_params does not touch the fitted networks
    assert all(template is not fitted for (_, template), fitted in zip(
        vote.estimators, vote.estimators_, strict=True))
    before = loaded.predict_proba(signals)
    loaded.set_params(clf__seed0__module__dropout=0.3, clf__flatten_transform=False)
    np.testing.assert_array_equal(loaded.predict_proba(signals), before)
    # n_jobs is how to run, not the model: the loading script's (default None), not the file's
    assert pipe[-1].n_jobs == 2 and vote.get_params()["n_jobs"] is None
    with zipfile.ZipFile(path) as archive:
        assert "n_jobs" not in json.loads(archive.read("metadata.json"))["steps"][-1]["params"]
    original = pipe[-1].set_params(flatten_transform=False)
    X = pipe[0].transform(signals)
    assert vote.transform(X).shape == original.transform(X).shape == (2, len(signals), 2)
    # a vote saved without a Pipeline comes back alone, and re-fits like the original
    alone = load_model(save_model(original, path.with_name("alone.sser")))
    np.testing.assert_array_equal(alone.predict_proba(X), original.predict_proba(X))
    assert alone.flatten_transform is False
    labels = pipe[-1].classes_[np.arange(len(signals)) % 2]
    refit = clone(alone).fit(X, labels)
    assert [type(m) for m in refit.estimators_] == [ADCRNNClassifier, ACRNNClassifier]


def test_damaged_files_are_refused(saved, pipeline, tmp_path):
    data = saved.read_bytes()
    cases = {
        "truncated.zip": (data[: len(data) // 2], "truncated"),
        "empty.zip": (b"", "not a zip archive"),
        "flipped.zip": (data[:200] + bytes([data[200] ^ 0xFF]) + data[201:], "corrupted"),
    }
    joblib.dump(pipeline, tmp_path / "pickled.zip")
    cases["pickled.zip"] = ((tmp_path / "pickled.zip").read_bytes(),
                            r"not a zip archive.*looks like a pickle.*joblib\.load")
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ModelFileError, match=message) as info:
            load_model(path)
        assert str(path) in str(info.value), name
    extra = rewrite(saved, tmp_path / "extra.zip", members={"__init__.py": b"import os"})
    with pytest.raises(ModelFileError, match=r"found \['__init__\.py'"):
        load_model(extra)
    with zipfile.ZipFile(saved) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(tmp_path / "deflated.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in contents.items():
            archive.writestr(name, content)
    with pytest.raises(ModelFileError, match="compressed"):
        load_model(tmp_path / "deflated.zip")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.zip")


def test_a_file_from_another_version_warns(saved, tmp_path):
    path = rewrite(saved, tmp_path / "old.zip", metadata=_set(["sklearn_ser_version"], "0.0.1"))
    with pytest.warns(SklearnSerVersionWarning, match=r"version 0\.0\.1 when using version"):
        load_model(path)


