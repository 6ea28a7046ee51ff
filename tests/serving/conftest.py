"""Fixtures of the serving tests (helpers live in serving_helpers.py)."""
from serving_helpers import requests_, spec_model, trained_model, training_data  # noqa: F401
