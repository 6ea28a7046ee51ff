import numpy as np
import pytest

from widedeep import FtrlProximal
from widedeep.io.config import estimator_config, estimator_from_config, to_jsonable

from io_helpers import make_model


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
def test_config_round_trip_rebuilds_the_same_parameters(kind):
    model = make_model(kind, dtype=np.float64)
    rebuilt = estimator_from_config(estimator_config(model))
    assert type(rebuilt) is type(model)
    assert repr(rebuilt) == repr(model)
    assert rebuilt.get_config() == model.get_config()


def test_hidden_units_and_vocabularies_come_back_as_tuples():
    rebuilt = estimator_from_config(estimator_config(make_model()))
    assert rebuilt.hidden_units == (8, 4)
    assert rebuilt.vocabularies == {"va": (20, 4), "vb": (30, 4)}


def test_unknown_estimator_class_is_refused_without_importing_it():
    config = {"class": "os.system", "params": {}}
    with pytest.raises(ValueError, match=r"cfg.json: key 'class' is 'os.system'"):
        estimator_from_config(config, "cfg.json")


def test_optimizer_of_the_wrong_class_is_refused():
    config = estimator_config(make_model())
    config["params"]["ftrl"]["class"] = "Adagrad"
    with pytest.raises(ValueError, match=r"params.ftrl.class is 'Adagrad', expected "
                                         r"'FtrlProximal'"):
        estimator_from_config(config, "cfg.json")


def test_invalid_optimizer_config_names_the_key():
    config = estimator_config(make_model())
    config["params"]["ftrl"]["config"]["alpha"] = -1
    with pytest.raises(ValueError, match=r"params.ftrl.config: FtrlProximal: alpha"):
        estimator_from_config(config, "cfg.json")


def test_unknown_dtype_and_parameter_are_refused():
    config = estimator_config(make_model())
    config["params"]["dtype"] = "object"
    with pytest.raises(ValueError, match=r"params.dtype is 'object'"):
        estimator_from_config(config, "cfg.json")
    config = estimator_config(make_model())
    config["params"]["learning_rate"] = 1
    with pytest.raises(ValueError, match=r"params \['learning_rate'\] are not parameters"):
        estimator_from_config(config, "cfg.json")


def test_numpy_scalars_become_json_numbers_and_objects_are_refused():
    assert to_jsonable({"n": np.int64(3), "x": (np.float32(0.5),)}, "p") == \
        {"n": 3, "x": [0.5]}
    with pytest.raises(TypeError, match=r"p.ftrl: cannot save a value of type FtrlProximal"):
        to_jsonable({"ftrl": FtrlProximal()}, "p")
