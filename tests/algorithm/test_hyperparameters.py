"""Every hyperparameter: strings in, typed values out, SageMaker's defaults and error wording."""

import pytest

from roost.algorithm.hyperparameters import (
    HyperparameterError,
    Hyperparameters,
    parse_hyperparameters,
    summary_lines,
)

REQUIRED = {"num_classes": "4", "num_training_samples": "335"}
WORKSHOP = {
    **REQUIRED,
    "epochs": "15",
    "augmentation_type": "crop",
    "image_shape": "3,224,224",
    "learning_rate": "0.1",
    "mini_batch_size": "24",
    "num_layers": "152",
    "optimizer": "sgd",
    "use_pretrained_model": "0",
    "checkpoint_frequency": "15",
    "lr_scheduler_factor": "0.1",
    "top_k": "2",
}


def test_the_workshops_hyperparameters():
    hp = parse_hyperparameters(WORKSHOP)
    assert (hp.num_classes, hp.num_training_samples, hp.epochs, hp.mini_batch_size) == (4, 335, 15, 24)
    assert hp.image_shape == (3, 224, 224) and hp.augmentation_type == "crop" and hp.top_k == 2


def test_defaults_are_the_containers_effective_ones():
    hp = parse_hyperparameters(REQUIRED)
    assert hp.momentum == 0.9  # the defaults file says 0, the container uses 0.9 (docs/algorithm.md §10.1)
    assert (hp.num_layers, hp.image_shape, hp.epochs, hp.mini_batch_size) == (152, (3, 224, 224), 30, 32)
    assert (hp.learning_rate, hp.weight_decay, hp.optimizer, hp.lr_scheduler_factor) == (
        0.1,
        0.0001,
        "sgd",
        0.1,
    )
    assert (hp.beta_1, hp.beta_2, hp.eps, hp.gamma, hp.precision_dtype) == (0.9, 0.999, 1e-8, 0.9, "float32")
    assert (
        hp.early_stopping is False and hp.early_stopping_min_epochs == 10 and hp.early_stopping_patience == 5
    )
    assert hp.augmentation_type is None and hp.resize is None and hp.checkpoint_frequency is None


def test_spaces_numbers_and_platform_keys():
    hp = parse_hyperparameters(
        {**REQUIRED, "image_shape": " 3, 112 ,112", "lr_scheduler_step": "10, 20", "epochs": 7}
    )
    assert hp.image_shape == (3, 112, 112) and hp.lr_scheduler_step == (10, 20) and hp.epochs == 7
    assert parse_hyperparameters(
        {**REQUIRED, "_tuning_objective_metric": "validation:accuracy", "_kvstore": "x"}
    )


def test_the_augmentation_error_is_sagemakers_text():
    with pytest.raises(HyperparameterError) as error:
        parse_hyperparameters({**REQUIRED, "augmentation_type": "crop_color_transformation"})
    assert str(error.value) == (
        "Customer Error: The value 'crop_color_transformation' is not valid for the 'augmentation_type' "
        "hyperparameter which accepts one of the following: 'crop', 'crop_color', 'crop_color_transform' "
        "(caused by ValidationError)"
    )


def test_unknown_and_missing_keys():
    with pytest.raises(
        HyperparameterError, match=r"Additional properties are not allowed \('mini_batch_siz' was"
    ):
        parse_hyperparameters({**REQUIRED, "mini_batch_siz": "24"})
    with pytest.raises(HyperparameterError, match="'num_training_samples' is a required property"):
        parse_hyperparameters({"num_classes": "4"})


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("num_classes", "0"),
        ("num_classes", "four"),
        ("num_training_samples", "-3"),
        ("epochs", "1.5"),
        ("mini_batch_size", "0"),
        ("resize", "abc"),
        ("early_stopping_min_epochs", "0"),
        ("early_stopping_patience", "x"),
        ("checkpoint_frequency", "0"),
        ("learning_rate", "1.5"),
        ("learning_rate", "-0.1"),
        ("momentum", "2"),
        ("weight_decay", "lots"),
        ("beta_1", "1.1"),
        ("beta_2", "-1"),
        ("eps", "2"),
        ("gamma", "1.01"),
        ("lr_scheduler_factor", "3"),
        ("early_stopping_tolerance", "1.5"),
        ("lr_scheduler_step", "20,10"),
        ("lr_scheduler_step", "0,10"),
        ("lr_scheduler_step", "ten"),
        ("image_shape", "3,224"),
        ("image_shape", "2,224,224"),
        ("image_shape", "3,0,224"),
        ("num_layers", "19"),
        ("optimizer", "adagrad"),
        ("precision_dtype", "float64"),
        ("multi_label", "2"),
        ("use_pretrained_model", "yes"),
        ("use_weighted_loss", "true"),
        ("early_stopping", "true"),
        ("kv_store", "dist_device_sync"),
        ("augmentation_type", "none"),
        ("top_k", "1"),
    ],
)
def test_every_bad_value_is_named_with_what_is_valid(name, bad):
    with pytest.raises(HyperparameterError) as error:
        parse_hyperparameters({**REQUIRED, name: bad})
    text = str(error.value)
    assert text.startswith(
        f"Customer Error: The value '{bad}' is not valid for the '{name}' hyperparameter which "
    )
    assert "one of the following: " in text and text.endswith("(caused by ValidationError)")


def test_every_hyperparameter_of_the_spec_is_known():
    documented = {
        "num_classes", "num_training_samples", "augmentation_type", "beta_1", "beta_2",
        "checkpoint_frequency", "early_stopping", "early_stopping_min_epochs", "early_stopping_patience",
        "early_stopping_tolerance",
        "epochs", "eps", "gamma", "image_shape", "kv_store", "learning_rate", "lr_scheduler_factor",
        "lr_scheduler_step", "mini_batch_size", "momentum", "multi_label", "num_layers", "optimizer",
        "precision_dtype", "resize", "top_k", "use_pretrained_model", "use_weighted_loss", "weight_decay",
    }  # fmt: skip
    assert set(Hyperparameters.model_fields) == documented


def test_relations_between_values():
    with pytest.raises(
        HyperparameterError, match="'checkpoint_frequency' hyperparameter which expects an integer"
    ):
        parse_hyperparameters({**REQUIRED, "epochs": "5", "checkpoint_frequency": "6"})
    with pytest.raises(HyperparameterError, match="no pretrained models for 20 layers"):
        parse_hyperparameters({**REQUIRED, "num_layers": "20", "use_pretrained_model": "1"})


def test_parameter_summary_block():
    lines = summary_lines(parse_hyperparameters({**WORKSHOP, "resize": "256"}))
    assert lines[:4] == [
        "use_pretrained_model: 0",
        "multi_label: 0",
        "---- Parameters ----",
        "num_layers: 152",
    ]
    assert "data type: <type 'numpy.float32'>" in lines and "image resize size: 256" in lines
    assert "image_shape: 3,224,224" in lines and "top_k: 2" in lines and "checkpoint_frequency: 15" in lines
    assert lines[-1] == "--------------------"
    pretrained = summary_lines(parse_hyperparameters({**REQUIRED, "use_pretrained_model": "1"}))
    assert pretrained[2] == "Using pretrained model for initializing weights and transfer learning."
    assert "checkpoint_frequency not set, will store the best model" in pretrained
