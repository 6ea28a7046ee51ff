"""Persistence: save/load a trained estimator with its feature spec, exact resume, and warm
start of a new model from an old one (rows carried over by token).

- `save_model` / `load_model` / `load_spec` / `read_manifest` (``saving.py``): one directory,
  arrays in ``.npz`` (no pickles), everything else JSON, written atomically.
- `warm_start` (``warm_start.py``): a new model initialized from an old one, embedding rows and
  wide weights carried by token (``token_map.py``), matching dense layers copied.
- `estimator_snapshot` / `estimator_from_snapshot` (``snapshot.py``): the same content in
  memory, to copy a model across processes.
- `Checkpoint` (``checkpoint.py``): a `fit` callback saving the model every k steps, from
  which training resumes exactly (mid-epoch too).
- `estimator_from_config` (``config.py``): the registries a saved config is rebuilt from.
"""
from .checkpoint import Checkpoint
from .config import estimator_from_config
from .saving import (FORMAT_VERSION, load_model, load_model_and_spec, load_spec,
                     read_manifest, save_model)
from .snapshot import estimator_from_snapshot, estimator_snapshot
from .warm_start import WarmStartReport, warm_start

__all__ = ["save_model", "load_model", "load_spec", "load_model_and_spec", "read_manifest",
           "estimator_from_config", "warm_start", "WarmStartReport", "FORMAT_VERSION",
           "estimator_snapshot", "estimator_from_snapshot", "Checkpoint"]
