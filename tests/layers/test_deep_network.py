import numpy as np

from widedeep import FtrlProximal, SparseInput
from widedeep.gradcheck import check_gradients
from widedeep.layers import DeepNetwork, WideLayer
from widedeep.losses import binary_logloss, sigmoid


def features():
    rng = np.random.default_rng(5)
    return {
        "installed": SparseInput.from_lists([[1, 2, 5], [2], [], [0, 0, 4]], dtype=np.float64),
        "impression": SparseInput.from_ids(np.array([2, 6, 1, 0]), dtype=np.float64),
        "cross": SparseInput.from_lists([[3], [1, 2], [0], []], dtype=np.float64),
        "numeric": rng.standard_normal((4, 2)),
    }


def network(dropout=0.0, dense_l2=0.0, embedding_l2=0.0, output_bias=True):
    return DeepNetwork.build(
        vocabularies={"app": (7, 3)}, embedding_fields={"installed": "app", "impression": "app"},
        combiners={"installed": "sqrtn", "impression": "sum"}, dense_fields={"numeric": 2},
        hidden_units=(5, 4), activation="tanh", dropout=dropout, dense_l2=dense_l2,
        embedding_l2=embedding_l2, output_bias=output_bias, rng=np.random.default_rng(0),
        dtype=np.float64)


def test_whole_dnn_loss_gradient_wrt_every_parameter():
    net = network(dropout=0.3, dense_l2=0.05, embedding_l2=0.02)
    x, y = features(), np.array([1.0, 0.0, 0.0, 1.0])

    def run():
        return net.forward(x, training=True, rng=np.random.default_rng(11))

    def loss():
        return binary_logloss(run()[0], y) + net.penalty(x)

    logits, cache = run()
    grads = net.backward((sigmoid(logits) - y) / 4, cache)
    report = check_gradients(loss, net.params, grads)
    report.assert_passed()
    assert set(report.errors) == {"embedding/app", "layer0/W", "layer0/b", "layer3/W",
                                  "layer3/b", "layer6/W", "layer6/b"}


def test_joint_wide_deep_loss_gradient_wrt_deep_parameters_and_wide_weights():
    net = network(output_bias=False)
    wide = WideLayer({"impression": 7, "cross": 4}, FtrlProximal(), dtype=np.float64)
    rng = np.random.default_rng(1)
    for w in wide.params.values():
        w[:] = rng.standard_normal(w.shape)
    x, y = features(), np.array([1.0, 0.0, 0.0, 1.0])

    def joint_logits():
        return wide.forward(x)[0] + net.forward(x)[0]

    def loss():
        return binary_logloss(joint_logits(), y)

    deep_logits, deep_cache = net.forward(x)
    wide_logits, wide_cache = wide.forward(x)
    g = (sigmoid(wide_logits + deep_logits) - y) / 4
    params = {**{f"deep/{k}": v for k, v in net.params.items()},
              **{f"wide/{k}": v for k, v in wide.params.items()}}
    grads = {**{f"deep/{k}": v for k, v in net.backward(g, deep_cache).items()},
             **{f"wide/{k}": v for k, v in wide.backward(g, wide_cache)[1].items()}}
    check_gradients(loss, params, grads).assert_passed()


def test_input_layout_and_blocks_rebuild_the_first_layers_input():
    net = network()
    x = features()
    layout = net.input_layout()
    assert [(b.field, b.kind) for b in layout] == [("numeric", "dense"),
                                                   ("installed", "embedding"),
                                                   ("impression", "embedding")]
    assert [(b.start, b.stop) for b in layout] == [(0, 2), (2, 5), (5, 8)]
    a0 = np.concatenate([net.input_block(b, x) for b in layout], axis=1)
    # the first dense layer's cache is its input a_0
    _, (_, caches) = net.forward(x)
    np.testing.assert_array_equal(a0, caches[0])
