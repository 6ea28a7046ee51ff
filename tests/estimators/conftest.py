"""Fixtures of the estimator tests (the synthetic world lives in estimator_world.py)."""
from estimator_world import small_data, world  # noqa: F401
