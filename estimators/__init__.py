"""Gaze regressors on plain arrays (scikit-learn contract), the registry, and gaze geometry.

This is the lowest layer: it imports nothing from ``refine`` or ``benchmarks``.
"""

from estimators.base import EyeData, GazeEstimator
from estimators.geometry import angular_error_deg, pitchyaw_to_vector, vector_to_pitchyaw
from estimators.registry import create_estimator, list_estimators

__all__ = [
    "EyeData",
    "GazeEstimator",
    "angular_error_deg",
    "create_estimator",
    "list_estimators",
    "pitchyaw_to_vector",
    "vector_to_pitchyaw",
]
