"""Audio loading: decoding, conversion, mix-down, resampling and errors naming the file."""

import io

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from sklearn_ser.exceptions import AudioFileError, InvalidSignalError
from sklearn_ser.io import load_audio, resample, source_name


def _tone(frequency_hz, sample_rate, seconds=1.0, amplitude=0.5):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return amplitude * np.sin(2 * np.pi * frequency_hz * t)


def _peak_hz(signal, sample_rate):
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return np.argmax(spectrum) * sample_rate / len(signal)


def test_int16_pcm_is_scaled_like_libsndfile(tmp_path):
    pcm = np.array([0, 1, -1, 16384, -32768, 32767], dtype=np.int16)
    path = tmp_path / "pcm16.wav"
    sf.write(path, pcm, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(path), pcm / 32768.0)
    # An in-memory integer array follows the same convention.
    np.testing.assert_array_equal(load_audio(pcm), pcm / 32768.0)


def test_unsigned_8bit_array_is_centred():
    pcm = np.array([0, 128, 255], dtype=np.uint8)
    np.testing.assert_allclose(load_audio(pcm), [-1.0, 0.0, 127 / 128])


def test_multichannel_is_averaged(tmp_path):
    left, right = _tone(440, 16000), _tone(1000, 16000, amplitude=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path), (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("resampler", ["soxr", "scipy"])
@pytest.mark.parametrize("source_rate", [8000, 22050, 44100, 48000])
def test_resampling_keeps_duration_and_pitch(resampler, source_rate):
    signal = _tone(1000.0, source_rate, seconds=2.0)
    out = load_audio((signal, source_rate), sample_rate=16000, resampler=resampler)
    assert out.shape == (32000,)
    assert abs(_peak_hz(out, 16000) - 1000.0) < 1.0


def test_scipy_resampler_is_resample_poly():
    signal = _tone(440.0, 22050, seconds=0.5)
    np.testing.assert_array_equal(
        resample(signal, 22050, 16000, resampler="scipy"), resample_poly(signal, 320, 441)
    )


@pytest.mark.parametrize("rates", [(22050, 16000), (44100, 16000), (8000, 16000)])
def test_soxr_resampler_is_libsoxr_hq_in_either_precision(rates):
    soxr = pytest.importorskip("soxr")
    # not representable in float32: the float64 path must still be soxr's own
    signal = np.random.default_rng(1).standard_normal(rates[0]) * 0.1
    out = resample(signal, *rates)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, soxr.resample(signal, *rates, quality="HQ"))
    single = resample(signal.astype(np.float32), *rates)
    assert single.dtype == np.float32
    np.testing.assert_array_equal(single, out.astype(np.float32))


def test_soxr_rejects_aliasing_better_than_scipy():
    """A tone above the new Nyquist (8.5 kHz into 16 kHz) must vanish."""
    tone = _tone(8500.0, 22050, seconds=1.0)
    rms = {
        name: np.sqrt(np.mean(resample(tone, 22050, 16000, resampler=name)[2000:-2000] ** 2))
        for name in ("soxr", "scipy")
    }
    assert rms["soxr"] < 1e-5 < rms["scipy"]


def test_file_object_and_name(tmp_path):
    signal = _tone(300, 16000)
    buffer = io.BytesIO()
    sf.write(buffer, signal, 16000, format="WAV", subtype="FLOAT")
    buffer.seek(0)
    np.testing.assert_allclose(load_audio(buffer), signal, atol=1e-7)
    assert source_name(buffer, 3) == "file object #3"
    assert source_name(np.zeros(3), 2) == "signal #2"


def test_a_file_object_is_read_from_where_it_stands_and_put_back_there():
    from sklearn_ser import LogMel3DTransformer

    signal = _tone(300, 16000)
    encoded = io.BytesIO()
    sf.write(encoded, signal, 16000, format="WAV", subtype="FLOAT")
    buffer = io.BytesIO(b"12345678" + encoded.getvalue())  # the WAV starts at byte 8
    buffer.seek(8)
    first = load_audio(buffer)
    assert buffer.tell() == 8
    np.testing.assert_array_equal(load_audio(buffer), first)  # twice: same samples
    np.testing.assert_allclose(first, signal, atol=1e-7)
    # fit, then transform the very same objects (it used to fail: "Format not recognised")
    objects = [io.BytesIO(encoded.getvalue()) for _ in range(3)]
    front_end = LogMel3DTransformer(chunk_frames=50)
    np.testing.assert_array_equal(front_end.fit_transform(objects).chunks,
                                  front_end.transform(objects).chunks)
    buffer.seek(0, io.SEEK_END)  # an object left at its end says where it was read from
    with pytest.raises(AudioFileError, match=rf"file object #0.*read from byte "
                                             rf"{len(buffer.getvalue())}, where the file"):
        load_audio(buffer, name="file object #0")
    assert buffer.tell() == len(buffer.getvalue())


def test_native_rate_with_sample_rate_none(tmp_path):
    path = tmp_path / "native.wav"
    sf.write(path, _tone(300, 22050), 22050)
    assert load_audio(path, sample_rate=None).shape == (22050,)
    with pytest.raises(InvalidSignalError, match="no sample rate"):
        load_audio(np.zeros(10), sample_rate=None)


def test_emodb_file_comes_out_at_16k(emodb_files):
    signal = load_audio(emodb_files[0])
    assert signal.shape == (32000,)  # 2.000 s at 16 kHz
    assert np.abs(signal).max() <= 1.0


# -- errors name the culprit ----------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.wav"
    with pytest.raises(FileNotFoundError, match=r"nowhere\.wav") as info:
        load_audio(path)
    assert info.value.filename == str(path)


def test_directory(tmp_path):
    with pytest.raises(AudioFileError, match="is a directory"):
        load_audio(tmp_path)


def test_zero_bytes(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioFileError, match=r"empty\.wav.*0 bytes"):
        load_audio(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(300, 16000), 16000)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(AudioFileError, match=r"cut\.wav"):
        load_audio(path)


def test_text_file_renamed_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all\n" * 10)
    with pytest.raises(AudioFileError, match=r"notes\.wav.*(?i:format)"):
        load_audio(path)


@pytest.mark.parametrize(
    ("signal", "message"),
    [
        (np.array([0.0, np.nan, 0.1]), "1 NaN or inf"),
        (np.array([np.inf, 0.0]), "1 NaN or inf"),
        (np.zeros(0), "empty"),
        (np.zeros((10, 2)), "1-D waveform"),
        (np.zeros(4, dtype=complex), "dtype complex"),
    ],
)
def test_bad_arrays(signal, message):
    with pytest.raises(InvalidSignalError, match=message):
        load_audio(signal, name="clip-7")
    with pytest.raises(InvalidSignalError, match="clip-7"):
        load_audio(signal, name="clip-7")


def test_bad_tuple_rate():
    with pytest.raises(InvalidSignalError, match="sample_rate"):
        load_audio((np.zeros(10), -5))
    with pytest.raises(InvalidSignalError, match=r"\(array, sample_rate\)"):
        load_audio((np.zeros(10), 16000, "extra"))
    # a pair whose rate is no number says so (it said "a tuple of 2 items")
    with pytest.raises(InvalidSignalError, match=r"must be a number in Hz, got '16000' \(str\)"):
        load_audio((np.zeros(10), "16000"))
    with pytest.raises(InvalidSignalError, match=r"got True \(bool\)"):
        load_audio((np.zeros(10), True))
    assert load_audio((np.zeros(10) + 0.1, np.float32(16000))).shape == (10,)


def test_a_file_open_in_text_mode_is_named_with_the_way_out(tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, np.full(160, 0.1), 16000)
    message = r"'.*clip\.wav': it is open in text mode; open it in binary mode, open\(path, 'rb'\)"
    with open(path) as text, pytest.raises(AudioFileError, match=message):
        load_audio(text)


def test_unknown_resampler():
    with pytest.raises(ValueError, match="resampler='magic'"):
        resample(np.zeros(10), 8000, 16000, resampler="magic")


# -- trim_zeros ---------------------------------------------------------------------
def test_trim_zeros_drops_edge_silence_only_and_before_resampling():
    inner = _tone(440.0, 22050, seconds=0.5)
    inner[[0, -1]] = 0.25, -0.1  # sin(0) = 0 would be trimmed too
    inner[1000:1500] = 0.0  # a pause inside the utterance stays
    padded = np.concatenate([np.zeros(300), inner, np.zeros(7000)])
    np.testing.assert_array_equal(load_audio((padded, 22050), sample_rate=None,
                                             trim_zeros=True), inner)
    # resampled after trimming: equal to resampling the utterance alone
    np.testing.assert_array_equal(load_audio((padded, 22050), trim_zeros=True),
                                  load_audio((inner, 22050)))
    assert load_audio((padded, 22050)).size == round(padded.size * 16000 / 22050)


def test_trim_zeros_keeps_tiny_samples_and_reads_files(tmp_path):
    signal = np.zeros(16000)
    signal[[4000, 9000]] = [1e-6, -0.5]  # PCM-16 rounds 1e-6 to 0: only -0.5 survives
    path = tmp_path / "padded.wav"
    sf.write(path, signal, 16000, subtype="PCM_16")
    assert load_audio(path, trim_zeros=True).tolist() == [-0.5]
    assert load_audio((signal, 16000), trim_zeros=True).size == 5001  # float: both kept


def test_trim_zeros_names_an_all_silent_source():
    with pytest.raises(InvalidSignalError, match=r"quiet\.wav.*every one of its 800 samples is 0"):
        load_audio(np.zeros(800), trim_zeros=True, name="quiet.wav")
    assert load_audio(np.zeros(800)).size == 800  # without the option, silence is a signal


def test_a_signal_too_short_to_survive_resampling_is_named():
    with pytest.raises(InvalidSignalError, match=r"blip\.wav: 1 samples at 48000 Hz leave none"):
        load_audio((np.ones(1), 48000), name="blip.wav")


def test_what_other_layers_use_is_public(tmp_path):
    """The front end's constraints and the timeline's path check come from here."""
    from sklearn_ser import io as audio_io

    assert audio_io.RESAMPLERS == ("soxr", "scipy")
    assert {"RESAMPLERS", "check_audio_path", "read_wav"} <= set(audio_io.__all__)
    with pytest.raises(FileNotFoundError, match=r"gone\.wav"):
        audio_io.check_audio_path(tmp_path / "gone.wav", "gone.wav")
    with pytest.raises(AudioFileError, match="is a directory"):
        audio_io.check_audio_path(tmp_path, "folder")
