"""Fast stand-ins for the LLM, the student and the embedder, used by the docs' examples."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

POSITIVE = ("good", "great", "lovely")


class KeywordLabeler(BaseEstimator):
    """A stand-in LLM: "positive" when a text has a positive word.

    A labeler needs ``labels`` and ``task`` parameters (FreeALClassifier sets
    them), ``annotate`` and ``generate_demos``.
    """

    def __init__(self, labels=None, task=None):
        self.labels = labels
        self.task = task

    def annotate(self, texts, demos=None):
        ids = [int(any(w in t.lower().split() for w in POSITIVE)) for t in texts]
        return np.array(ids), np.ones(len(texts))

    def generate_demos(self, n, examples, random_state=None):
        return [("a good day", 1), ("a bad day", 0)] * (n // 2)


def tfidf_student():
    """A TF-IDF + logistic-regression classifier in place of the transformer SLM."""
    return make_pipeline(TfidfVectorizer(), LogisticRegression())


def tfidf_embedder():
    """TF-IDF + SVD sentence vectors in place of MiniLM, for demo retrieval."""
    return make_pipeline(TfidfVectorizer(), TruncatedSVD(4, random_state=0))


def toy_reviews(n=60, seed=0):
    """``n`` short reviews and their gold labels, alternating negative/positive."""
    rng = np.random.RandomState(seed)
    words = {0: ["bad", "awful", "sad"], 1: list(POSITIVE)}
    texts = [f"a {rng.choice(words[i % 2])} {rng.choice(['film', 'meal', 'trip'])} {i}"
             for i in range(n)]
    return texts, np.array(["negative", "positive"] * (n // 2))
