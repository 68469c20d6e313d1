"""The fast WAV reader gives exactly what libsndfile gives, or hands the file back to it."""

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.exceptions import AudioFileError
from sklearn_ser.io import load_audio, read_wav

RATE = 16000


def noise(n_frames, n_channels, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(scale=0.3, size=(n_frames, n_channels)), -1, 1)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("n_channels", [1, 2, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", ["WAV", "WAVEX"])  # WAVEX: WAVE_FORMAT_EXTENSIBLE
def test_same_bits_as_soundfile(subtype, n_channels, dtype, container, tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, noise(1001, n_channels), 22050, subtype=subtype, format=container)
    if container == "WAVEX":
        assert path.read_bytes()[20:22] == b"\xfe\xff"
    decoded = read_wav(path, dtype)
    assert decoded is not None
    samples, rate = decoded
    expected = sf.read(path, dtype=dtype, always_2d=True)[0]
    assert rate == 22050 and samples.dtype == dtype
    np.testing.assert_array_equal(samples, expected)


def test_a_cut_data_chunk_gives_the_whole_frames_that_are_there(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, noise(1000, 2), RATE, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 4 * 300 - 3])  # 300 frames and 3 odd bytes short
    samples, _ = read_wav(path)
    expected = sf.read(path, always_2d=True)[0]
    assert samples.shape == (699, 2)
    np.testing.assert_array_equal(samples, expected)


def test_chunks_before_and_after_the_data_are_skipped(tmp_path):
    """A LIST chunk of odd size (padded to even) before fmt, and one after the data."""
    path = tmp_path / "plain.wav"
    sf.write(path, noise(300, 1), RATE, subtype="PCM_16")
    data = path.read_bytes()
    fmt = data.index(b"fmt ")
    extra = b"LIST" + (5).to_bytes(4, "little") + b"abcde\x00"
    body = data[12:fmt] + extra + data[fmt:] + b"junk" + (2).to_bytes(4, "little") + b"zz"
    path.write_bytes(b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WAVE" + body)
    samples, _ = read_wav(path)
    np.testing.assert_array_equal(samples, sf.read(path, always_2d=True)[0])


@pytest.mark.parametrize(
    ("subtype", "format_"),
    [("PCM_24", "WAV"), ("PCM_16", "FLAC"), ("ULAW", "WAV"), ("PCM_16", "AIFF")],
)
def test_other_formats_are_left_to_libsndfile(subtype, format_, tmp_path):
    path = tmp_path / f"x.{format_.lower()}"
    signal = noise(800, 1)[:, 0]
    sf.write(path, signal, RATE, subtype=subtype, format=format_)
    assert read_wav(path) is None
    np.testing.assert_array_equal(load_audio(path), sf.read(path)[0])


def test_an_extensible_header_with_another_sub_format_is_left_to_libsndfile(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, noise(100, 2), RATE, subtype="PCM_16", format="WAVEX")
    data = bytearray(path.read_bytes())
    guid = data.index(bytes.fromhex("800000aa00389b71")) - 8
    data[guid + 2] = 2  # {00020001-...}: not the PCM sub-format
    path.write_bytes(bytes(data))
    assert read_wav(path) is None
    with pytest.raises(AudioFileError, match=r"x\.wav"):
        load_audio(path)


def test_only_float_types_are_decoded_here(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, noise(100, 1), RATE, subtype="PCM_16")
    assert read_wav(path, np.int16) is None and read_wav(path, np.float16) is None


def test_missing_paths_are_file_not_found_errors_naming_the_file(tmp_path):
    a_file = tmp_path / "a.wav"
    sf.write(a_file, noise(100, 1), RATE)
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    for path in (tmp_path / "missing.wav", a_file / "inside.wav", loop):
        with pytest.raises(FileNotFoundError, match=path.name):
            load_audio(path)


@pytest.mark.parametrize("cut", [12, 20, 36, 44])
def test_headers_cut_anywhere_are_left_to_libsndfile(cut, tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, noise(100, 1), RATE, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:cut])
    assert read_wav(path) is None
