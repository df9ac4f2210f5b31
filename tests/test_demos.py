"""Demonstration pool selection and kNN retrieval."""

import numpy as np
import pytest

from skfreeal.demonstrations import k_medoids, knn_demo_indices, select_demo_pool


def _clusters(rng, centers, per):
    return np.vstack([c + 0.05 * rng.randn(per, len(c)) for c in centers])


def test_k_medoids_returns_one_true_sample_per_cluster():
    rng = np.random.RandomState(0)
    centers = np.eye(4)
    X = _clusters(rng, centers, 10)
    medoids = k_medoids(X, 4, random_state=0)
    assert sorted(medoids // 10) == [0, 1, 2, 3]  # one medoid inside each cluster


def test_k_medoids_on_many_rows_runs_on_a_sample_and_still_finds_the_clusters():
    """Above max_samples rows FasterPAM sees a random sample (its distance matrix
    is n²): the medoids are still one true row of each cluster."""
    rng = np.random.RandomState(0)
    centers = np.eye(3) * 10
    X = np.vstack([c + rng.randn(2000, 3) for c in centers])
    medoids = k_medoids(X, 3, random_state=0, max_samples=300)
    assert medoids.size == 3 and len(set(medoids // 2000)) == 3
    np.testing.assert_array_equal(medoids, k_medoids(X, 3, random_state=0, max_samples=300))
    assert np.all(np.linalg.norm(X[medoids] - centers[medoids // 2000], axis=1) < 1.5)


def test_k_medoids_all_samples_when_few():
    assert k_medoids(np.eye(3), 5).tolist() == [0, 1, 2]


def test_select_demo_pool_prefers_clean_small_loss_and_covers_classes():
    rng = np.random.RandomState(0)
    emb = rng.randn(60, 8)
    labels = np.repeat([0, 1, 2], 20)
    losses = rng.rand(60)
    clean = np.ones(60, bool)
    clean[::2] = False
    idx = select_demo_pool(emb, losses, labels, clean_mask=clean, top_percent=0.5,
                           per_class=2, random_state=0)
    assert np.bincount(labels[idx]).tolist() == [2, 2, 2]
    assert clean[idx].all()
    for cls in range(3):
        cand = np.flatnonzero(clean & (labels == cls))
        cutoff = np.sort(losses[cand])[int(np.ceil(0.5 * cand.size)) - 1]
        assert (losses[idx[labels[idx] == cls]] <= cutoff).all()


def test_select_demo_pool_ignores_unlabelled_and_falls_back_without_clean():
    emb = np.random.RandomState(1).randn(10, 4)
    labels = np.array([0, 0, 0, 1, 1, 1, -1, -1, -1, -1])
    clean = np.array([1, 1, 1, 0, 0, 0, 1, 1, 1, 1], bool)
    idx = select_demo_pool(emb, np.arange(10.0), labels, clean_mask=clean, per_class=1)
    assert set(labels[idx]) == {0, 1}


@pytest.mark.parametrize("bad, match", [
    (dict(top_percent=0), "top_percent"), (dict(per_class=0), "per_class"),
])
def test_select_demo_pool_rejects_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        select_demo_pool(np.eye(2), [0.1, 0.2], [0, 1], **bad)


def test_select_demo_pool_rejects_length_mismatch():
    with pytest.raises(ValueError, match="one row per sample"):
        select_demo_pool(np.eye(3), [0.1, 0.2], [0, 1])


def test_knn_orders_most_similar_last_and_excludes_self():
    pool = np.eye(4, dtype=np.float32)
    query = np.array([[0.9, 0.5, 0.1, 0.0]], dtype=np.float32)
    assert knn_demo_indices(query, pool, 3).tolist() == [[2, 1, 0]]
    assert knn_demo_indices(query, pool, 3, exclude=np.array([0])).tolist() == [[3, 2, 1]]


def test_knn_shows_the_whole_pool_when_no_query_excludes_an_item():
    pool = np.eye(3, dtype=np.float32)
    query = np.array([[1.0, 0.1, 0.0]], dtype=np.float32)
    assert knn_demo_indices(query, pool, 3, exclude=np.array([-1])).tolist() == [[2, 1, 0]]
    assert knn_demo_indices(query, pool, 3, exclude=np.array([0])).tolist() == [[2, 1]]
    assert knn_demo_indices(query, pool[:1], 1, exclude=np.array([-1])).tolist() == [[0]]


def test_knn_balanced_takes_every_class():
    rng = np.random.RandomState(0)
    pool = rng.randn(30, 5)
    labels = np.r_[np.zeros(27, int), np.ones(3, int)]
    nn = knn_demo_indices(rng.randn(7, 5), pool, 4, pool_labels=labels, balanced=True)
    assert nn.shape == (7, 4)
    assert all(set(labels[row]) == {0, 1} for row in nn)


def test_knn_balanced_never_returns_the_excluded_item():
    # A class whose only pool item is the query itself: that item must not be
    # shown as the query's own demonstration.
    pool = np.eye(4, dtype=np.float32)
    labels = np.array([0, 0, 0, 1])
    nn = knn_demo_indices(
        pool, pool, 2, pool_labels=labels, balanced=True, exclude=np.arange(4)
    )
    assert nn.shape == (4, 2)
    assert all(i not in row for i, row in enumerate(nn.tolist()))
    # A degenerate query (NaN embedding) still gets demonstrations, and still
    # never itself: only the excluded item is dropped, not the NaN scores.
    pool[1] = np.nan
    nn = knn_demo_indices(
        pool[1:2], pool, 2, pool_labels=labels, balanced=True, exclude=np.array([1])
    )
    assert nn.shape == (1, 2) and 1 not in nn[0]
    assert set(labels[nn[0]]) == {0, 1}


@pytest.mark.parametrize("balanced", [False, True])
def test_knn_ranks_a_nan_similarity_last_and_never_returns_the_excluded_item(balanced):
    # One degenerate pool item (NaN embedding) among sound ones: it ranks below
    # every real score, and the excluded query itself still never comes back.
    pool = np.eye(4, dtype=np.float32)
    pool[2] = np.nan
    labels = np.array([0, 0, 1, 1])
    nn = knn_demo_indices(pool[:1] + 0.5, pool, 3, pool_labels=labels, balanced=balanced,
                          exclude=np.array([0]))
    assert 0 not in nn[0] and sorted(nn[0].tolist()) == [1, 2, 3]
    assert nn[0, 0] == 2  # the NaN item first, i.e. least similar
    # A class whose only candidate is NaN still ranks by the real scores of the others.
    sim_pool = np.array([[0.1], [0.2], [0.3], [0.9], [np.nan], [0.95]], dtype=np.float32)
    nn = knn_demo_indices(np.ones((1, 1), np.float32), sim_pool, 3,
                          pool_labels=np.array([0, 0, 0, 1, 2, 3]), balanced=True)
    assert sorted(nn[0].tolist()) == [2, 3, 5]


def test_knn_chunks_give_the_same_answer():
    rng = np.random.RandomState(0)
    q, pool = rng.randn(50, 6), rng.randn(20, 6)
    np.testing.assert_array_equal(
        knn_demo_indices(q, pool, 5, chunk_size=7), knn_demo_indices(q, pool, 5)
    )


def test_knn_empty_pool_and_zero_k():
    assert knn_demo_indices(np.ones((2, 3)), np.zeros((0, 3)), 4).shape == (2, 0)
    assert knn_demo_indices(np.ones((2, 3)), np.ones((3, 3)), 0).shape == (2, 0)
    with pytest.raises(ValueError, match="balanced=True needs pool_labels"):
        knn_demo_indices(np.ones((1, 3)), np.ones((3, 3)), 2, balanced=True)
