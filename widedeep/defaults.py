"""Every default hyper-parameter of widedeep, in one place.

The optimizer classes (`Adagrad()`, `FtrlProximal()`, `Adam()`) and the estimators (which
build ``Adagrad()`` / ``FtrlProximal()`` when given none) read the same constants here, so
"the default optimizer" means one thing wherever it is constructed. TensorFlow's defaults
stay reachable through ``Adagrad.from_tensorflow`` and ``FtrlProximal.from_tensorflow``.

The regularizing values (AdaGrad lr and initial accumulator, FTRL alpha/beta/L1/L2,
dropout, embedding L2, the epoch cap and the patience) were chosen by the protocol of
docs/DEFAULTS.md (``benchmarks/tune_defaults.py``): the same configurations trained on five
real tasks (UCI Adult, the Criteo sample, MovieLens 100K as a like/dislike and as a rating
task, the app-store simulation) with early stopping on validation splits, and the one
configuration with the smallest worst-case validation regret across them kept. Its regret
was at most 0.0016 AUC on every binary task (0.6% RMSE on the rating task).

Why some differ from TensorFlow's: widedeep's loss is a batch *mean* (learning rates act on
a gradient ~1/n of a per-example one), so AdaGrad's initial accumulator is 1e-3, not TF's
0.1 (which dominates ``sqrt(accumulator)`` for rarely seen embedding rows and shrinks their
steps ~30x), and FTRL's beta is 0.01, not McMahan's 1 (the step ``alpha / (beta + sqrt(n))``
would be beta-dominated). FTRL's alpha is small, 0.02, because the wide part trained jointly
with the deep part overfits its crosses first: on MovieLens (history x movie cross)
validation AUC falls 0.739 -> 0.730 -> 0.723 from alpha 0.02 to 0.05 to 0.1.
Change a value *here* and nowhere else; tests/test_defaults.py checks that docs/DEFAULTS.md
states the values used.
"""

# ---------------------------------------------------------------- deep part: AdaGrad
ADAGRAD_LR = 0.05
ADAGRAD_INITIAL_ACCUMULATOR = 1e-3
ADAGRAD_EPS = 1e-7

# ---------------------------------------------------------------- deep part: Adam (optional)
ADAM_LR = 1e-3
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-7

# ---------------------------------------------------------------- wide part: FTRL-Proximal
FTRL_ALPHA = 0.02
FTRL_BETA = 0.01
FTRL_L1 = 1e-5
FTRL_L2 = 1e-3
FTRL_INITIAL_ACCUMULATOR = 0.0

# ---------------------------------------------------------------- network
HIDDEN_UNITS = (100, 50)
DROPOUT = 0.2
EMBEDDING_L2 = 1e-4
DENSE_L2 = 0.0

# ---------------------------------------------------------------- training loop
BATCH_SIZE = 256
EPOCHS = 30                 # a cap: early stopping normally ends training before it
EARLY_STOPPING = "auto"     # on for in-memory data or with an eval set; off for a bare stream
VALIDATION_FRACTION = 0.1   # held out (stratified for classification) when no eval set
N_ITER_NO_CHANGE = 3        # epochs without improvement before stopping
PREDICT_BATCH_SIZE = 65536
PROGRESS_SECONDS = 10.0     # a progress line inside an epoch at most this often (verbose)

# ---------------------------------------------------------------- batch normalization
BATCH_NORM_MOMENTUM = 0.9   # running = momentum * running + (1 - momentum) * batch (PyTorch's)
BATCH_NORM_EPS = 1e-3       # Keras's; added to the variance
