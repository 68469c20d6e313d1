"""What users feed the toolkit: every bad input gets a clear error naming the culprit,
and every odd-but-valid input works. All files are generated here."""

import tracemalloc
import warnings

import numpy as np
import pytest
import soundfile as sf
from sklearn.exceptions import NotFittedError

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.datasets import load_audio_folder
from sklearn_ser.exceptions import AudioFileError, InvalidSignalError, ShortSignalWarning
from sklearn_ser.io import load_audio

RATE = 16000


def tone(seconds=0.5, rate=RATE, frequency=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return 0.4 * np.sin(2 * np.pi * frequency * t)


def write(path, signal, rate=RATE, **kwargs):
    sf.write(path, signal, rate, **kwargs)
    return path


# -- files that must fail, with the file named ----------------------------------------
def _truncated_header(path):
    write(path, tone())
    path.write_bytes(path.read_bytes()[:20])


def _text(path):
    path.write_text("label,file\nanger,a.wav\n")


def _png(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))


BROKEN = {
    "zero bytes": lambda p: p.write_bytes(b""),
    "truncated header": _truncated_header,
    "text renamed .wav": _text,
    "PNG renamed .wav": _png,
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_files_raise_audio_file_error_naming_the_file(kind, tmp_path):
    path = tmp_path / f"broken {kind.replace(' ', '_')}.wav"
    BROKEN[kind](path)
    with pytest.raises(AudioFileError) as info:
        LogMel3DTransformer().fit([write(tmp_path / "fine.wav", tone()), path])
    assert path.name in str(info.value)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing-here\.wav"):
        load_audio(tmp_path / "nothing-here.wav")
    with pytest.raises(AudioFileError, match="is a directory"):
        load_audio(tmp_path)


def test_data_chunk_cut_short_still_decodes_what_is_there(tmp_path):
    """libsndfile reads the samples that exist; the result is the file's first part."""
    path = write(tmp_path / "cut.wav", tone(1.0), subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    signal = load_audio(path)
    assert 0 < len(signal) < RATE
    np.testing.assert_allclose(signal, load_audio(write(tmp_path / "ok.wav", tone(1.0),
                                                        subtype="PCM_16"))[: len(signal)])


# -- formats and rates that must work -------------------------------------------------
@pytest.mark.parametrize(
    ("name", "subtype", "format_"),
    [("pcm8.wav", "PCM_U8", "WAV"), ("pcm24.wav", "PCM_24", "WAV"),
     ("float32.wav", "FLOAT", "WAV"), ("clip.flac", "PCM_16", "FLAC"),
     ("clip.ogg", "VORBIS", "OGG")],
)
def test_formats_decode_to_the_same_signal(name, subtype, format_, tmp_path):
    reference = tone()
    signal = load_audio(write(tmp_path / name, reference, subtype=subtype, format=format_))
    tolerance = {"PCM_U8": 1e-2, "VORBIS": 5e-2}.get(subtype, 1e-4)
    assert signal.shape == reference.shape
    assert np.abs(signal - reference).max() < tolerance


@pytest.mark.parametrize("n_channels", [2, 6])
def test_multichannel_files_are_mixed_down(n_channels, tmp_path):
    channels = np.stack([tone(frequency=200.0 * (c + 1)) for c in range(n_channels)], axis=1)
    path = write(tmp_path / f"{n_channels}ch.wav", channels, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), channels.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_other_rates_are_resampled(rate, tmp_path):
    path = write(tmp_path / f"{rate}.wav", tone(1.0, rate=rate), rate)
    assert load_audio(path).shape == (RATE,)


def test_path_with_spaces_and_non_ascii(tmp_path):
    folder = tmp_path / "Ärger und Freude"
    folder.mkdir()
    path = write(folder / "sprecher 03 ß wütend.wav", tone())
    X = LogMel3DTransformer().fit_transform([path])
    assert X.n_chunks.tolist() == [1]
    with pytest.raises(AudioFileError, match=r"kaputt ß ü\.wav"):
        (folder / "kaputt ß ü.wav").write_text("x")
        load_audio(folder / "kaputt ß ü.wav")


def test_shorter_than_one_frame_and_all_zero_give_finite_features():
    """37 samples (2.3 ms) make one zero-padded frame; silence gives log(eps) everywhere,
    i.e. 0 after normalisation by statistics that saw other audio."""
    transformer = LogMel3DTransformer().fit([tone(), np.zeros(RATE)])
    with pytest.warns(ShortSignalWarning, match=r"^1 of 2 utterance\(s\) .*: signal #0\.$"):
        out = transformer.transform([np.full(37, 0.1), np.zeros(RATE)])
    assert out.n_frames.tolist() == [1, 99]
    assert np.isfinite(out.chunks).all()
    raw = LogMel3DTransformer(normalize=False).fit_transform([np.zeros(RATE)])
    real = raw.chunks[0, 0, :99]
    np.testing.assert_allclose(real, np.log(np.finfo(np.float64).eps), rtol=1e-6)


def test_utterances_no_longer_than_a_frame_are_named_in_one_warning(tmp_path):
    short = tmp_path / "click.wav"
    sf.write(short, np.full(400, 0.1), RATE)  # exactly one frame: 25 ms
    sf.write(tmp_path / "ok.wav", tone(), RATE)
    # 70 sources: three groups of files (32 a group), over two jobs
    sources = [tone(), str(short), str(tmp_path / "ok.wav"), np.full(401, 0.1)] * 17
    sources += [tone(), np.full(37, 0.1)]
    with pytest.warns(ShortSignalWarning) as record:
        out = LogMel3DTransformer(n_jobs=2).fit_transform(sources)
    assert len(record) == 1  # one warning for the call, whatever the groups or jobs
    message = str(record[0].message)
    assert message.startswith("18 of 70 utterance(s) are no longer than one analysis frame (400 "
                              "samples, 25 ms at 16000 Hz)")
    assert message.endswith(f"an emotion from: {short}, {short}, {short}, {short}, {short} and 13 "
                            "more.")
    assert record[0].filename == __file__  # it points at the caller's line, not sklearn's
    assert out.n_frames.tolist()[:4] == [49, 1, 49, 2]  # 0.5 s of tone: 49 frames


def test_a_multichannel_array_read_as_rows_gets_the_way_out_in_the_warning():
    stereo = np.random.default_rng(0).standard_normal((4000, 2)) * 0.1  # as soundfile.read gives
    with pytest.warns(ShortSignalWarning, match=r"4000 of 4000 .*: signal #0, signal #1, signal "
                      r"#2, signal #3, signal #4 and 3995 more\. X is a 2-D array of shape \(4000, "
                      r"2\), read as one signal per row; .*\[\(x\.mean\(axis=1\), sample_rate\)\]"):
        LogMel3DTransformer().fit(stereo)
    # the suggested input is one utterance, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = LogMel3DTransformer().fit_transform([(stereo.mean(axis=1), RATE)])
    assert len(out) == 1 and out.n_frames.tolist() == [24]


# -- arrays -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("signal", "error", "message"),
    [
        (np.array([0.0, np.nan, 0.2]), InvalidSignalError, "NaN or inf"),
        (np.array([np.inf, 0.1, 0.2]), InvalidSignalError, "NaN or inf"),
        (np.zeros((100, 2)), InvalidSignalError, "1-D waveform"),
        (np.array(["a", "b"]), InvalidSignalError, "dtype"),
        (np.zeros(3, dtype=complex), InvalidSignalError, "dtype"),
        (np.zeros(0), InvalidSignalError, "empty"),
    ],
)
def test_bad_arrays_name_their_position(signal, error, message):
    with pytest.raises(error, match=message) as info:
        LogMel3DTransformer().fit([tone(), tone(), signal])
    assert "signal #2" in str(info.value)


def test_ten_minute_file_in_bounded_memory(tmp_path):
    """A 10-minute file: decoding, features and the chunk store, measured with tracemalloc."""
    minutes = 10
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as out:
        for _ in range(minutes * 6):  # write 10-s blocks: the test itself stays small
            out.write(0.1 * np.random.default_rng(0).standard_normal(10 * RATE))
    transformer = LogMel3DTransformer(max_chunks=50).fit([tone()])
    tracemalloc.start()
    X = transformer.transform([path])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert X.n_chunks.tolist() == [50]  # capped: 200 chunks of 3 s exist
    decoded_float32 = minutes * 60 * RATE * 4
    # The decoded file, its 3-D log-Mel and the kept chunks: measured at 3.0x the decoded
    # size (110 MiB), linear in the length; the FFT works in blocks of 512 frames, so the
    # whole file's (60k x 257) spectrum is never held. For memory that does not grow at
    # all with the length, sklearn_ser.timeline reads the file block by block (test_cli).
    assert peak < 4 * decoded_float32


# -- labels and fitted state ---------------------------------------------------------
TINY = dict(module__conv_channels=2, module__dilated_channels=4, module__linear_units=8,
            module__lstm_units=4, module__embedding_dim=4, max_epochs=1, batch_size=4,
            train_split=None, verbose=0)


@pytest.fixture(scope="module")
def chunks():
    signals = [tone(0.6, frequency=f) for f in (200, 300, 400, 500, 600, 700)]
    return LogMel3DTransformer(chunk_frames=60, n_mels=20).fit_transform(signals)


def test_label_problems(chunks):
    with pytest.raises(ValueError, match="at least 2 classes"):
        ADCRNNClassifier(**TINY).fit(chunks, ["anger"] * 6)
    with pytest.raises(ValueError, match=r"(?i)mix of label input types"):
        ADCRNNClassifier(**TINY).fit(chunks, ["anger", 1, "joy", 2, "anger", 1])
    with pytest.raises(ValueError, match="one label per utterance"):
        ADCRNNClassifier(**TINY).fit(chunks, ["anger", "joy"] * 2)


def test_predict_before_fit_and_with_another_front_end(chunks):
    with pytest.raises(NotFittedError):
        ADCRNNClassifier(**TINY).predict(chunks)
    fitted = ADCRNNClassifier(**TINY).fit(chunks, ["anger", "joy"] * 3)
    other = LogMel3DTransformer(chunk_frames=60, n_mels=26).fit_transform([tone()])
    with pytest.raises(ValueError, match="n_mels"):
        fitted.predict(other)


# -- a corpus with broken files ------------------------------------------------------
@pytest.fixture
def corpus_with_three_broken(tmp_path):
    broken = []
    for i in range(50):
        label = ("anger", "joy")[i % 2]
        (tmp_path / label).mkdir(exist_ok=True)
        path = tmp_path / label / f"utt{i:02d}.wav"
        if i in (7, 23, 41):
            path.write_bytes(b"RIFF\x00\x00")
            broken.append(path)
        else:
            write(path, tone(0.3, frequency=200 + 10 * i))
    return tmp_path, broken


def test_skip_keeps_47_aligned_samples_and_names_the_3(corpus_with_three_broken):
    root, broken = corpus_with_three_broken
    bunch = load_audio_folder(root, on_error="skip")
    assert len(bunch.filenames) == len(bunch.target) == 47
    assert sorted(path for path, _ in bunch.skipped) == sorted(str(p) for p in broken)
    for path, label in zip(bunch.filenames, bunch.target, strict=True):
        assert f"/{label}/" in path.replace("\\", "/")  # every label still sits with its file


def test_raise_names_the_first_broken_file(corpus_with_three_broken):
    root, broken = corpus_with_three_broken
    with pytest.raises(AudioFileError) as info:
        load_audio_folder(root, on_error="raise")
    first = sorted(broken)[0]
    assert str(first) in str(info.value) or first.name in str(info.value)
