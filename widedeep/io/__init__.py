"""Persistence: save/load a trained estimator with its feature spec, exact resume, and warm
start of a new model from an old one (rows carried over by token).

- `save_model` / `load_model` / `load_spec` / `read_manifest` (``saving.py``): one directory,
  arrays in ``.npz`` (no pickles), everything else JSON, written atomically.
- `estimator_from_config` (``config.py``): the registries a saved config is rebuilt from.
"""
from .config import estimator_from_config
from .saving import FORMAT_VERSION, load_model, load_spec, read_manifest, save_model

__all__ = ["save_model", "load_model", "load_spec", "read_manifest", "estimator_from_config",
           "FORMAT_VERSION"]
