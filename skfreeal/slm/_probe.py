"""A linear probe on frozen embeddings: the student's head before fine-tuning.

Fine-tuning an encoder from a random head on a few hundred texts distorts the
pretrained features before the head has learnt anything; a logistic
regression on the frozen, mean-pooled embeddings is already a strong
classifier there. Starting the head from it ("LP-FT", Kumar et al., ICLR
2022) makes fine-tuning begin at the probe's accuracy. :func:`fit_linear_probe`
is the pure function; :class:`ProbeInit` the skorch callback that applies it
to the net's head before the first epoch.
"""

import time
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["PROBE_CS", "ProbeInit", "fit_linear_probe", "fit_multilabel_probe"]

# Inverse regularisation strengths tried by cross-validation. Mean-pooled
# MiniLM states have norms near 3-5: the best C on the benchmark data sets ran
# from 0.03 (200 tweets) to 30 (100 Yahoo questions).
PROBE_CS = np.logspace(-2, 2, 9)


def fit_linear_probe(embeddings, y, n_classes, *, Cs=PROBE_CS, cv=5, random_state=0):
    """Logistic regression on embeddings, its C chosen by cross-validation.

    Parameters
    ----------
    embeddings : ndarray of shape (n_samples, n_features)
        Frozen encoder features of the labelled texts.
    y : ndarray of shape (n_samples,), dtype=int
        Class index of each text, in ``range(n_classes)``.
    n_classes : int
        Number of outputs of the head (a class may be missing from ``y``).
    Cs : array-like, default=PROBE_CS
        The candidate inverse regularisation strengths.
    cv : int, default=5
        Stratified folds; fewer when the rarest class has fewer texts. With
        fewer than two texts in some class, no search: ``C=1``.
    random_state : int, default=0
        Seed of the folds.

    Returns
    -------
    weight : ndarray of shape (n_classes, n_features)
    bias : ndarray of shape (n_classes,)
        Logits ``embeddings @ weight.T + bias`` reproduce the probe's
        probabilities (softmax); a class missing from ``y`` gets a very low
        bias.
    C : float
        The chosen C.
    cv_score : float
        Its mean cross-validated accuracy (NaN without a search).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from threadpoolctl import threadpool_limits

    X = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    present, counts = np.unique(y, return_counts=True)
    n_splits = min(cv, int(counts.min()))
    # One BLAS thread: on a few hundred rows more threads only contend, and
    # on a busy 2-core machine they made the search ten times slower.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        if n_splits >= 2:
            search = GridSearchCV(
                LogisticRegression(max_iter=1000), {"C": list(Cs)},
                cv=StratifiedKFold(n_splits, shuffle=True, random_state=random_state),
            ).fit(X, y)
            model, C, score = search.best_estimator_, search.best_params_["C"], \
                search.best_score_
        else:
            C, score = 1.0, float("nan")
            model = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(s) == softmax([-s/2, s/2])
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight = np.zeros((n_classes, X.shape[1]))
    bias = np.full(n_classes, intercept.min() - 10.0)
    weight[present] = coef
    bias[present] = intercept
    return weight, bias, float(C), float(score)


def fit_multilabel_probe(embeddings, Y, *, Cs=PROBE_CS, cv=5, random_state=0):
    """One binary probe per label (:func:`fit_linear_probe` on its column), as sigmoid logits.

    Parameters
    ----------
    embeddings : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_labels)
        Indicator rows of the labelled texts.
    Cs, cv, random_state
        As for :func:`fit_linear_probe`, each label searched on its own.

    Returns
    -------
    weight : ndarray of shape (n_labels, n_features)
    bias : ndarray of shape (n_labels,)
        ``sigmoid(embeddings @ weight.T + bias)`` is each label's probe
        probability. A label no text carries (or every text does) gets a
        zero weight and the logit of its smoothed frequency,
        ``log((c + 0.5) / (n - c + 0.5))``.
    C : ndarray of shape (n_labels,)
        Each label's chosen C (NaN for a constant label).
    cv_score : float
        The mean over the searched labels of their cross-validated accuracy.
    """
    Y = np.asarray(Y).astype(np.int64)
    n, n_labels = Y.shape
    weight = np.zeros((n_labels, np.shape(embeddings)[1]))
    bias, C, scores = np.zeros(n_labels), np.full(n_labels, np.nan), []
    for k in range(n_labels):
        carried = int(Y[:, k].sum())
        if carried in (0, n):
            bias[k] = np.log((carried + 0.5) / (n - carried + 0.5))
            continue
        # A two-class probe is softmax([-s/2, s/2]): its sigmoid logit is s.
        w, b, C[k], score = fit_linear_probe(embeddings, Y[:, k], 2, Cs=Cs, cv=cv,
                                             random_state=random_state)
        weight[k], bias[k] = w[1] - w[0], b[1] - b[0]
        scores.append(score)
    cv_score = float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan")
    return weight, bias, C, cv_score


class ProbeInit(Callback):
    """Set the net's head to a linear probe of the frozen encoder, before training.

    At the start of training: mean-pooled embeddings of the labelled texts
    (eval mode, the encoder as loaded), :func:`fit_linear_probe` on them,
    and the result copied into ``net.module_.head``.

    Parameters
    ----------
    seed : int, default=0
        Seed of the cross-validation folds.

    Attributes
    ----------
    C_ : float, or ndarray of shape (n_labels,) for indicator targets
        The chosen inverse regularisation strength (each label's).
    cv_score_ : float
        The probe's cross-validated accuracy on the labelled texts (for
        indicator targets, the mean of the labels').
    seconds_ : float
        Time of the embedding pass and the search.
    """

    def __init__(self, seed=0):
        self.seed = seed

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        start = time.perf_counter()
        data = X
        labelled = data.labelled
        emb = net.embed([data.input_ids[i] for i in labelled])
        head = net.module_.head
        if data.y.ndim == 2:  # multi-label: a probe per label
            weight, bias, self.C_, self.cv_score_ = fit_multilabel_probe(
                emb, data.y[labelled], random_state=self.seed)
        else:
            weight, bias, self.C_, self.cv_score_ = fit_linear_probe(
                emb, data.y[labelled], head.out_features, random_state=self.seed
            )
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(weight, dtype=head.weight.dtype))
            head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))
        self.seconds_ = time.perf_counter() - start
