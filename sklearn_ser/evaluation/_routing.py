"""The speakers of a cross-validation, routed to a front end that normalises by speaker."""

from __future__ import annotations

from sklearn import get_config
from sklearn.utils.metadata_routing import get_routing_for_object

from ..features import normalizes_by_speaker

__all__ = ["check_speaker_routing", "routes_groups"]


def routes_groups(estimator, groups):
    """Whether ``groups`` is to be passed to the estimator's ``fit`` and to its
    front end at prediction: under scikit-learn's metadata routing, when a step
    requests it (``LogMel3DTransformer(normalize="speaker")`` does)."""
    if groups is None or not get_config().get("enable_metadata_routing", False):
        return False
    return bool(get_routing_for_object(estimator).consumes("fit", ["groups"]))


def check_speaker_routing(estimator, groups):
    """Refuse, before any fold, a front end with ``normalize="speaker"`` that the
    speakers cannot reach: no ``groups``, or metadata routing off."""
    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    if not any(name.rsplit("__", 1)[-1] == "normalize" and normalizes_by_speaker(value)
               for name, value in params.items()):
        return
    if groups is None:
        raise ValueError("cross_validate_report: the front end has normalize='speaker', "
                         "which needs the speaker of every sample: pass groups=")
    if not get_config().get("enable_metadata_routing", False):
        raise ValueError("cross_validate_report: the front end has normalize='speaker', "
                         "which gets each fold's speakers through scikit-learn's metadata "
                         "routing: call sklearn.set_config(enable_metadata_routing=True) first")
