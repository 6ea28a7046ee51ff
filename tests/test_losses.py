"""Loss objects: the gradient formula against finite differences of the value (float64), the
links, the label checks naming the row, the metrics per objective."""
import numpy as np
import pytest

from widedeep.gradcheck import check_gradients
from widedeep.losses import BinaryLogistic, SoftmaxCrossEntropy, SquaredError, get_loss


def case(loss, seed=0, n=7):
    rng = np.random.default_rng(seed)
    K = loss.n_outputs
    scores = rng.normal(0, 2, (n, K) if K > 1 else n)
    if isinstance(loss, BinaryLogistic):
        y = rng.integers(0, 2, n).astype(float)
    elif isinstance(loss, SquaredError):
        y = rng.normal(0, 3, n)
    else:
        y = rng.integers(0, K, n).astype(float)
    return scores, y, rng.uniform(0.1, 2.0, n)


@pytest.mark.parametrize("loss", [BinaryLogistic(), SquaredError(), SoftmaxCrossEntropy(4)],
                         ids=["binary", "regression", "multiclass"])
@pytest.mark.parametrize("n_total", [None, 20])
def test_gradient_matches_finite_differences_of_the_value(loss, n_total):
    scores, y, sw = case(loss)
    params = {"scores": scores}

    def value():
        return loss.value(params["scores"], y, sw, n=n_total)

    analytic = loss.gradient(loss.link(scores), y, sw, n=n_total)
    check_gradients(value, params, {"scores": analytic}).assert_passed()


def test_gradient_is_weight_times_residual_over_n():
    loss = BinaryLogistic()
    g = loss.gradient(np.array([0.25, 0.5]), np.array([1.0, 0.0]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(g, [2.0 * (0.25 - 1.0) / 2, 3.0 * 0.5 / 2])
    g = SoftmaxCrossEntropy(3).gradient(np.array([[0.2, 0.3, 0.5]]), np.array([2.0]), n=4)
    np.testing.assert_allclose(g, [[0.05, 0.075, -0.125]])


def test_links():
    np.testing.assert_allclose(BinaryLogistic().link(np.array([0.0, np.log(3)])), [0.5, 0.75])
    np.testing.assert_array_equal(SquaredError().link(np.array([-2.5, 4.0])), [-2.5, 4.0])
    p = SoftmaxCrossEntropy(3).link(np.array([[0.0, np.log(2), np.log(5)], [1e4, 0, 0]]))
    np.testing.assert_allclose(p, [[0.125, 0.25, 0.625], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("loss,labels,message", [
    (BinaryLogistic(), [0, 1, 2], "binary objective: labels must be 0 or 1; row 12 has 2"),
    (SquaredError(), [0.5, np.nan], "regression objective: labels must be finite numbers; "
                                    "row 11 has nan"),
    (SoftmaxCrossEntropy(3), [0, 3], r"multiclass objective: labels must be integers 0 \.\. 2;"
                                     r" row 11 has 3"),
    (SoftmaxCrossEntropy(3), [0, 1.5], "row 11 has 1.5"),
])
def test_labels_are_checked_per_objective_naming_the_row(loss, labels, message):
    with pytest.raises(ValueError, match=message):
        loss.check_labels(np.array(labels), first_row=10)


def test_metrics_per_objective():
    assert set(BinaryLogistic().metrics([0, 1], np.array([0.2, 0.7]))) == \
        {"logloss", "auc", "accuracy"}
    m = SquaredError().metrics(np.array([1.0, 3.0]), np.array([2.0, 3.0]))
    assert m == pytest.approx({"rmse": np.sqrt(0.5), "mae": 0.5})
    m = SoftmaxCrossEntropy(2).metrics(np.array([0, 1]), np.array([[0.5, 0.5], [0.2, 0.8]]))
    assert m == pytest.approx({"logloss": -(np.log(0.5) + np.log(0.8)) / 2, "accuracy": 1.0})


def test_unknown_objective_is_refused():
    with pytest.raises(ValueError, match="objective must be one of"):
        get_loss("poisson")
    with pytest.raises(ValueError, match="needs n_classes"):
        get_loss("multiclass")
