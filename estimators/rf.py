"""Head-pose-clustered random regression forest (Sugano, Matsushita, Sato, CVPR 2014): the RF row.

Sugano et al.'s learning-by-synthesis forest, as MPIIGaze (Zhang et al. 2015) re-ran it:

1. The training samples are clustered by head pose (here: k-means on head pitch/yaw, radians,
   into ``n_clusters`` centres).
2. Each cluster gets its own regression trees, grown on the samples of that cluster *and* of its
   ``n_neighbor_clusters - 1`` nearest clusters (centre distance in head-pose space), so
   neighbouring trees overlap and a test pose between centres is still covered.
3. Split tests compare two pixels of the small histogram-equalised eye image (9x15, Sugano's
   15x9 W x H image) and also the head angles.
4. A test sample is answered by the trees of the ``n_neighbor_clusters`` clusters nearest its head
   pose: their outputs are averaged.

Departures (ours, documented in docs/baselines.md): Sugano draws a random pixel pair per node;
here scikit-learn trees split on single columns of a fixed, seeded set of ``n_pixel_pairs``
pixel-difference features (p_i - p_j, the same test as "p_i > p_j + t"), with head pitch/yaw
appended, and each cluster grows ``n_estimators`` bootstrapped trees (Sugano: one tree per
cluster). Cluster count and neighbourhood size are ours. No torch import here.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestRegressor

from estimators.base import EyeData, GazeEstimator, UserError
from estimators.features import image_features, subsample_rows


class RFGaze(GazeEstimator):
    """Head-pose-clustered random regression forest, predicting (pitch, yaw) jointly.

    n_clusters: head-pose clusters (k-means centres; fewer when there are fewer distinct poses).
    n_neighbor_clusters: R, the clusters whose samples train one cluster's trees and whose trees
        answer one test sample (both the nearest R, the cluster itself included).
    n_estimators: trees per cluster. max_features, min_samples_leaf, max_depth: per tree.
    feature, pixels_hw: the image whose pixel pairs are compared (default "pixels" 9x15).
    n_pixel_pairs: how many random pixel pairs become split candidates (seeded).
    max_train_samples: optional seeded subsample of rows. n_jobs: tree-building processes.
    random_state: seeds k-means, the pixel pairs, bootstraps and the subsample.
    """

    def __init__(
        self,
        n_clusters: int = 16,
        n_neighbor_clusters: int = 3,
        n_estimators: int = 8,
        max_features: float | str = 0.3,
        min_samples_leaf: int = 2,
        max_depth: int | None = None,
        feature: str = "pixels",
        pixels_hw: tuple[int, int] = (9, 15),
        n_pixel_pairs: int = 500,
        max_train_samples: int | None = None,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ):
        self.n_clusters = n_clusters
        self.n_neighbor_clusters = n_neighbor_clusters
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.feature = feature
        self.pixels_hw = pixels_hw
        self.n_pixel_pairs = n_pixel_pairs
        self.max_train_samples = max_train_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _features(self, X: EyeData) -> np.ndarray:
        """(n, n_pixel_pairs + 2) float32: pixel differences, then head pitch/yaw radians."""
        img = image_features(X.images, self.feature, self.pixels_hw)
        diffs = img[:, self.pairs_[:, 0]] - img[:, self.pairs_[:, 1]]
        return np.concatenate([diffs, np.asarray(X.head_pitchyaw_rad, np.float32)], axis=1)

    def route(self, head_pitchyaw_rad: np.ndarray) -> np.ndarray:
        """(n, 2) head pitch/yaw radians -> (n, R) int indices of the nearest cluster centres."""
        d = np.linalg.norm(head_pitchyaw_rad[:, None, :] - self.centres_[None], axis=2)
        return np.argsort(d, axis=1, kind="stable")[:, : self.n_neighbor_clusters_]

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        if int(self.n_clusters) < 1 or int(self.n_neighbor_clusters) < 1:
            raise UserError(
                "n_clusters and n_neighbor_clusters must be >= 1, "
                f"got {self.n_clusters}, {self.n_neighbor_clusters}"
            )
        rows = subsample_rows(len(X), self.max_train_samples, self.random_state)
        X, y = X[rows], y[rows]
        rng = np.random.default_rng(self.random_state)
        n_pix = image_features(X.images[:1], self.feature, self.pixels_hw).shape[1]
        self.pairs_ = rng.integers(0, n_pix, (int(self.n_pixel_pairs), 2))
        head = np.asarray(X.head_pitchyaw_rad, np.float64)
        k = min(int(self.n_clusters), len(np.unique(head, axis=0)))
        km = KMeans(n_clusters=k, n_init=4, random_state=self.random_state).fit(head)
        self.centres_ = km.cluster_centers_
        self.n_neighbor_clusters_ = min(int(self.n_neighbor_clusters), k)
        feats = self._features(X)
        # A cluster's trees see the samples of the R clusters nearest its centre (itself first).
        neighbours = self.route(self.centres_)
        self.forests_ = []
        for c in range(k):
            mask = np.isin(km.labels_, neighbours[c])
            forest = RandomForestRegressor(
                n_estimators=self.n_estimators, max_features=self.max_features,
                min_samples_leaf=self.min_samples_leaf, max_depth=self.max_depth,
                n_jobs=self.n_jobs, random_state=int(rng.integers(2**31)),
            )  # fmt: skip
            self.forests_.append(forest.fit(feats[mask], y[mask]))
        self.n_train_used_ = len(rows)
        self.is_fitted_ = True

    def _predict(self, X: EyeData) -> np.ndarray:
        feats = self._features(X)
        routes = self.route(np.asarray(X.head_pitchyaw_rad, np.float64))
        out = np.zeros((len(X), 2))
        for c, forest in enumerate(self.forests_):
            hit = (routes == c).any(axis=1)  # test samples this cluster's trees answer
            if hit.any():
                out[hit] += forest.predict(feats[hit])
        return out / routes.shape[1]
