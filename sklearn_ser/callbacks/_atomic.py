"""skorch's ``Checkpoint`` with crash-safe writes and torch's generator states."""

from __future__ import annotations

import os
import warnings

import torch
from skorch.callbacks import Checkpoint

__all__ = ["RNG_STATE_FILE", "AtomicCheckpoint"]

#: File, next to the checkpoint's history, holding torch's generator states.
RNG_STATE_FILE = "rng_state.pt"


def _fsync(path):
    """Flush a file, or a folder's entries, to the disk (best effort on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicCheckpoint(Checkpoint):
    """skorch ``Checkpoint`` whose files are never half-written, plus the RNG state.

    Takes every parameter of :class:`skorch.callbacks.Checkpoint`. Each file
    is written to ``<name>.tmp`` and flushed to the disk; only when all of
    them are written are they renamed over the previous ones (``os.replace``,
    atomic on POSIX and Windows), the history last. So no file is ever
    truncated: a crash or a ``SIGKILL`` while writing leaves the previous
    checkpoint whole, and a failed write (disk full) warns and leaves it
    whole too, where skorch's ``Checkpoint`` writes in place and reports
    errors only to its ``sink`` (silent by default). The one window left is
    the few microseconds between the renames, where files of two consecutive
    epochs can mix; the history, renamed last, then names the older epoch,
    so resuming repeats that epoch from slightly newer weights. ``f_pickle``
    is written in place, as by skorch.

    Parameters
    ----------
    save_rng_state : bool, default=True
        Also save torch's generator states (CPU, and CUDA when initialised)
        to ``<fn_prefix>rng_state.pt``, so :class:`ResumeFromCheckpoint`
        resumes the shuffling and dropout sequence where it stopped.
    **kwargs
        Passed to :class:`skorch.callbacks.Checkpoint` (``monitor``,
        ``dirname``, ``fn_prefix``, ``f_params``, ``f_optimizer``, ...).
    """

    def __init__(self, *args, save_rng_state=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.save_rng_state = save_rng_state

    @property
    def rng_state_file_(self):
        """Path of the RNG state file (a property, like skorch's ``f_history_``)."""
        return os.path.join(self.dirname, self.fn_prefix + RNG_STATE_FILE)

    def save_model(self, net):
        self._staged_ = []
        try:
            super().save_model(net)
            if self.save_rng_state:
                state = {"cpu": torch.get_rng_state()}
                if torch.cuda.is_available() and torch.cuda.is_initialized():
                    state["cuda"] = torch.cuda.get_rng_state_all()
                self._stage(self.rng_state_file_, lambda tmp: torch.save(state, tmp))
            history = os.fspath(self.f_history_) if self.f_history_ else None
            # The history says how many epochs are done: it goes last, so
            # it never points at weights that are not yet in place.
            for tmp, target in sorted(self._staged_, key=lambda item: item[1] == history):
                os.replace(tmp, target)
            _fsync(self.dirname or os.curdir)
        except Exception as exc:  # a failed checkpoint must not end training
            warnings.warn(
                f"Checkpoint of epoch {len(net.history)} was not saved "
                f"({type(exc).__name__}: {exc}); the previous checkpoint in "
                f"{_folder(self)!r} is intact.",
                RuntimeWarning, stacklevel=2,
            )
        finally:
            for tmp, _ in self._staged_:
                if os.path.exists(tmp):
                    os.remove(tmp)
            self._staged_ = []

    def _stage(self, target, write):
        target = os.fspath(target)
        tmp = target + ".tmp"
        self._staged_.append((tmp, target))
        write(tmp)
        _fsync(tmp)

    def _save_params(self, f, net, f_name, log_name):
        if not isinstance(f, (str, os.PathLike)):  # a file object: nothing to rename
            net.save_params(**{f_name: f, "use_safetensors": self.use_safetensors})
            return
        self._stage(f, lambda tmp: net.save_params(
            **{f_name: tmp, "use_safetensors": self.use_safetensors}))


def _folder(checkpoint):
    return os.path.abspath(checkpoint.dirname or os.curdir)
