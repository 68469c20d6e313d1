"""Center-based auxiliary losses and the combined criterion of Pham et al. (eq. 15).

- :class:`CenterLoss`: Wen, Zhang, Li and Qiao, "A discriminative feature
  learning approach for deep face recognition", ECCV 2016, eq. 2.
- :class:`ContrastiveCenterLoss`: Qi and Su, "Contrastive-center loss for deep
  neural networks", ICIP 2017, eq. 3.
- :class:`CenterAugmentedLoss`: softmax cross-entropy plus a weighted center
  loss, ``L = L_s + aux_weight * L_aux`` (Pham, Dang and Nguyen, JAEC 2020,
  eq. 15, with ``L_aux`` the contrastive-center loss).

The papers sum over the mini-batch; here both center losses are **averaged**
over it (sum divided by the batch size), like :func:`torch.nn.functional.cross_entropy`,
so ``aux_weight`` does not depend on the batch size. The centers are ordinary
``nn.Parameter`` learned by the optimizer (Qi and Su's setting), not updated by
Wen et al.'s separate moving-average rule.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.validation import is_number

__all__ = ["AUX_LOSSES", "CenterAugmentedLoss", "CenterLoss", "ContrastiveCenterLoss"]

#: Accepted values of ``CenterAugmentedLoss(aux=...)``.
AUX_LOSSES = ("contrastive-center", "center", None)


class _Centers(nn.Module):
    """One learned center per class and the squared distances to them.

    Parameters
    ----------
    n_classes : int
        Number of classes ``K``.
    n_features : int
        Dimension ``D`` of the features (the model's ``embedding_dim``).

    Attributes
    ----------
    centers : nn.Parameter [shape=(n_classes, n_features)]
        Class centers, drawn from a standard normal with torch's global RNG
        (seed it with :func:`torch.manual_seed`).
    """

    def __init__(self, n_classes, n_features):
        super().__init__()
        self.n_classes = n_classes
        self.n_features = n_features
        self.centers = nn.Parameter(torch.randn(n_classes, n_features))

    def _squared_distances(self, features, target):
        """``||x_i - c_k||^2`` for every sample and class, and the one-hot target.

        Parameters
        ----------
        features : torch.Tensor [shape=(batch, n_features)]
        target : torch.Tensor [shape=(batch,)], integer class indices

        Returns
        -------
        distances : torch.Tensor [shape=(batch, n_classes)], float32 or float64
        own_class : torch.Tensor [shape=(batch, n_classes)], bool
        """
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(
                f"features of shape {tuple(features.shape)} do not match "
                f"n_features={self.n_features}; the loss's n_features must equal the "
                f"module's embedding_dim (e.g. criterion__n_features=module__embedding_dim)"
            )
        target = torch.as_tensor(target, device=features.device).long().reshape(-1)
        if target.shape[0] != features.shape[0]:
            raise ValueError(
                f"target has {target.shape[0]} labels for {features.shape[0]} feature rows"
            )
        dtype = torch.promote_types(features.dtype, torch.float32)
        # The direct difference (not |x|^2 - 2 x.c + |c|^2) has no cancellation
        # when x is close to its center; autocast is off so bfloat16 inputs are
        # still compared in float32.
        with torch.autocast(device_type=features.device.type, enabled=False):
            diff = features.to(dtype)[:, None, :] - self.centers.to(dtype)[None, :, :]
            distances = diff.square().sum(dim=-1)
        own_class = F.one_hot(target, self.n_classes).bool()
        return distances, own_class


class CenterLoss(_Centers):
    """Center loss (Wen et al. 2016, eq. 2), averaged over the batch.

    .. math::

        L_C = \\frac{1}{m} \\sum_{i=1}^{m} \\frac{1}{2} \\lVert x_i - c_{y_i} \\rVert_2^2

    Parameters
    ----------
    n_classes : int
        Number of classes.
    n_features : int
        Dimension of the features (the model's ``embedding_dim``).

    Attributes
    ----------
    centers : nn.Parameter [shape=(n_classes, n_features)]
        Learned class centers, standard-normal initialised.

    Notes
    -----
    ``forward(features, target)`` takes features ``(batch, n_features)`` and
    integer labels ``(batch,)`` and returns a scalar (float32, or float64 for
    float64 features).
    """

    def forward(self, features, target):
        distances, own_class = self._squared_distances(features, target)
        intra = distances[own_class]  # one entry per sample, in batch order
        return 0.5 * intra.mean()


class ContrastiveCenterLoss(_Centers):
    """Contrastive-center loss (Qi and Su 2017, eq. 3; Pham et al. eq. 15), averaged.

    .. math::

        L_{ct-c} = \\frac{1}{m} \\sum_{i=1}^{m} \\frac{1}{2}
        \\frac{\\lVert x_i - c_{y_i} \\rVert_2^2}
             {\\sum_{e \\ne y_i} \\lVert x_i - c_e \\rVert_2^2 + \\lambda}

    It pulls each feature towards its class center and pushes it from the
    others; ``lambda_`` (Qi and Su's delta) keeps the ratio finite.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    n_features : int
        Dimension of the features (the model's ``embedding_dim``).
    lambda_ : float, default=1.0
        Constant added to the denominator.

    Attributes
    ----------
    centers : nn.Parameter [shape=(n_classes, n_features)]
        Learned class centers, standard-normal initialised.

    Notes
    -----
    ``forward(features, target)`` takes features ``(batch, n_features)`` and
    integer labels ``(batch,)`` and returns a scalar. The denominator sums the
    other classes' distances directly (not total minus own), so it stays
    accurate when the own-class distance dominates.
    """

    def __init__(self, n_classes, n_features, lambda_=1.0):
        super().__init__(n_classes, n_features)
        self.lambda_ = _check_number(type(self).__name__, "lambda_", lambda_, positive=True)

    def forward(self, features, target):
        distances, own_class = self._squared_distances(features, target)
        intra = distances[own_class]
        inter = distances.masked_fill(own_class, 0.0).sum(dim=1)
        return (0.5 * intra / (inter + self.lambda_)).mean()


def _check_number(owner, name, value, *, positive):
    """``value`` as a float, or a ValueError naming ``owner``'s parameter
    (finite, and > 0 when ``positive``, otherwise >= 0)."""
    if not is_number(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{owner}: {name}={value!r} must be a finite number "
                         f"{'> 0' if positive else '>= 0'} (criterion__{name} on a classifier)")
    return float(value)


def _check_aux(aux):
    """Normalise ``aux`` ("none" -> None) or raise a ValueError naming it."""
    if isinstance(aux, str) and aux.lower() == "none":
        return None
    if aux not in AUX_LOSSES:
        raise ValueError(
            f"aux={aux!r} is not supported; choose one of 'contrastive-center', "
            f"'center' or None (also 'none')"
        )
    return aux


class CenterAugmentedLoss(nn.Module):
    """Cross-entropy plus a weighted center loss on the embedding (Pham et al. eq. 15).

    .. math::

        L = \\mathrm{CE}(\\text{logits}, y) + w \\, L_{aux}(\\text{embedding}, y)

    with ``L_aux`` the contrastive-center loss (the paper), the center loss, or
    nothing.

    Parameters
    ----------
    n_classes : int, default=7
        Number of classes (rows of the centers).
    n_features : int, default=64
        Embedding dimension (the module's ``embedding_dim``).
    aux : {"contrastive-center", "center", None}, default="contrastive-center"
        Auxiliary loss; ``"none"`` is read as None (plain cross-entropy, no
        centers).
    aux_weight : float, default=1.0
        Weight ``w`` of the auxiliary loss, >= 0.
    lambda_ : float, default=1.0
        Denominator constant of the contrastive-center loss (unused otherwise), > 0.
    label_smoothing : float, default=0.0
        Passed to :func:`torch.nn.functional.cross_entropy`.
    class_weight : array-like of shape (n_classes,), default=None
        Per-class weights of the cross-entropy (not of the auxiliary loss).

    Attributes
    ----------
    center_loss : CenterLoss or ContrastiveCenterLoss or None
        The auxiliary loss; its ``centers`` parameter (``center_loss.centers``,
        shape ``(n_classes, n_features)``) is the criterion's only learnable
        parameter, so skorch's ``get_all_learnable_params`` finds it.
    class_weight : torch.Tensor or None
        Buffer with the cross-entropy class weights (moves with ``.to``).
    last_ce_ : float or None
        Cross-entropy of the last ``forward`` call (detached), None before any.
    last_aux_ : float or None
        Unweighted auxiliary loss of the last call; 0.0 when ``aux`` is None.

    Notes
    -----
    ``forward(y_pred, y_true)``: ``y_pred`` is the ``(logits, embedding)``
    tuple of :class:`ADCRNN` / :class:`ACRNN` (extra items, such as attention
    weights, are ignored); with ``aux=None`` a bare logits tensor is accepted
    too. ``y_true`` holds integer labels ``(batch,)``. Returns a scalar; the
    cross-entropy is computed in float32 even under autocast.
    """

    def __init__(
        self,
        *,
        n_classes=7,
        n_features=64,
        aux="contrastive-center",
        aux_weight=1.0,
        lambda_=1.0,
        label_smoothing=0.0,
        class_weight=None,
    ):
        super().__init__()
        self.n_classes = n_classes
        self.n_features = n_features
        self.aux = _check_aux(aux)
        owner = type(self).__name__
        self.aux_weight = _check_number(owner, "aux_weight", aux_weight, positive=False)
        self.lambda_ = _check_number(owner, "lambda_", lambda_, positive=True)
        if not 0 <= _check_number(owner, "label_smoothing", label_smoothing, positive=False) <= 1:
            raise ValueError(f"{owner}: label_smoothing={label_smoothing!r} must be in [0, 1] "
                             "(criterion__label_smoothing on a classifier)")
        self.label_smoothing = label_smoothing
        if self.aux == "contrastive-center":
            self.center_loss = ContrastiveCenterLoss(n_classes, n_features, lambda_=lambda_)
        elif self.aux == "center":
            self.center_loss = CenterLoss(n_classes, n_features)
        else:
            self.center_loss = None
        if class_weight is not None:
            class_weight = torch.as_tensor(class_weight, dtype=torch.float32).reshape(-1)
            if class_weight.shape[0] != n_classes:
                raise ValueError(
                    f"class_weight has {class_weight.shape[0]} entries; "
                    f"expected n_classes={n_classes}"
                )
        self.register_buffer("class_weight", class_weight)
        self.last_ce_ = None
        self.last_aux_ = None

    def _split(self, y_pred):
        if isinstance(y_pred, (tuple, list)):
            return y_pred[0], (y_pred[1] if len(y_pred) > 1 else None)
        return y_pred, None

    def forward(self, y_pred, y_true):
        logits, embedding = self._split(y_pred)
        y_true = torch.as_tensor(y_true, device=logits.device).long().reshape(-1)
        ce = F.cross_entropy(
            logits.float(),
            y_true,
            weight=self.class_weight,
            label_smoothing=self.label_smoothing,
        )
        if self.center_loss is None:
            total, aux = ce, 0.0
        else:
            if embedding is None:
                raise TypeError(
                    f"aux={self.aux!r} needs the embedding: y_pred must be the "
                    f"(logits, embedding) tuple returned by ADCRNN or ACRNN"
                )
            aux_loss = self.center_loss(embedding, y_true)
            total = ce + self.aux_weight * aux_loss
            aux = aux_loss.item()
        self.last_ce_ = ce.item()
        self.last_aux_ = aux
        return total
