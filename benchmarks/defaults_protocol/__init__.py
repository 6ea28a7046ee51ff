"""The protocol that chooses widedeep's default hyper-parameters (docs/DEFAULTS.md).

``tasks`` builds the five real tasks (features, train / validation / test splits),
``space`` the search space and the shared configurations, ``training`` fits widedeep
with early stopping on a validation split, ``torch_peer`` trains the PyTorch peer of
``../shared/bench`` on the same feature dicts, ``selection`` turns validation scores into
regrets and picks the default. ``benchmarks/tune_defaults.py`` runs it end to end.
"""
