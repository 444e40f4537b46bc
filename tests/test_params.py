"""params.yaml validation: every mistake is one line naming the key."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from artstyle.params import Params, ParamsError, check_sampling, load_params, parse_params, to_dict

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))


def _error(raw: dict) -> str:
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_repo_params_yaml_loads():
    params = load_params(REPO / "params.yaml")
    assert isinstance(params, Params)
    assert params.data.image_size >= 8
    assert 0 < params.resample.val_fraction < 1
    # the dict form, as logged to JSON, parses back to an equal object
    assert parse_params(json.loads(json.dumps(to_dict(params)))) == params


def test_missing_file_names_path(tmp_path):
    with pytest.raises(ParamsError, match="nope.yaml"):
        load_params(tmp_path / "nope.yaml")


def test_unknown_key(raw):
    bad = copy.deepcopy(raw)
    bad["classifier"]["lrr"] = 0.1
    message = _error(bad)
    assert message.startswith("classifier.lrr:") and "unknown key" in message
    bad = copy.deepcopy(raw)
    bad["classifer"] = {}
    assert _error(bad).startswith("classifer:")


def test_missing_key(raw):
    bad = copy.deepcopy(raw)
    del bad["autoencoder"]["loss_mix"]
    message = _error(bad)
    assert message.startswith("autoencoder.loss_mix:") and "missing" in message
    bad = copy.deepcopy(raw)
    del bad["seed"]
    assert _error(bad).startswith("seed:")


@pytest.mark.parametrize(
    "section, key, value, words",
    [
        ("classifier", "epochs", "ten", "integer"),
        ("classifier", "epochs", 2.5, "integer"),
        ("classifier", "augment", "yes", "true or false"),
        ("classifier", "lr", "fast", "number"),
        ("classifier", "batch_size", True, "integer"),
        ("data", "root", 3, "string"),
        ("resample", "val_fraction", None, "number"),
    ],
)
def test_wrong_type(raw, section, key, value, words):
    bad = copy.deepcopy(raw)
    bad[section][key] = value
    message = _error(bad)
    assert message.startswith(f"{section}.{key}:") and words in message


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("resample", "val_fraction", 0.0),
        ("resample", "val_fraction", 1.0),
        ("classifier", "lr", 0),
        ("classifier", "dropout", 1.0),
        ("data", "image_size", 4),
        ("classifier", "class_weights", "inverse"),
        ("autoencoder", "loss", "l2"),
    ],
)
def test_out_of_range(raw, section, key, value):
    bad = copy.deepcopy(raw)
    bad[section][key] = value
    message = _error(bad)
    assert message.startswith(f"{section}.{key}:") and "allowed" in message


def test_seed_out_of_range(raw):
    bad = copy.deepcopy(raw)
    bad["seed"] = -1
    assert _error(bad).startswith("seed:")


def test_section_must_be_mapping(raw):
    bad = copy.deepcopy(raw)
    bad["classifier"] = 3
    assert _error(bad).startswith("classifier:")


@pytest.mark.parametrize("key", ["sampling", "test_sampling"])
@pytest.mark.parametrize("value", ["banana", 0, -3, 1.5, "0", "1.0", True, [1]])
def test_bad_sampling(raw, key, value):
    bad = copy.deepcopy(raw)
    bad[key] = value
    message = _error(bad)
    assert message.startswith(f"{key}: got ")
    assert "none, mean, max, min, a fraction in (0, 1), or an integer count >= 1" in message


@pytest.mark.parametrize(
    "value, expected",
    [
        ("none", "none"),
        (None, "none"),
        ("mean", "mean"),
        ("MAX", "max"),
        (" min ", "min"),
        (0.5, 0.5),
        ("0.25", 0.25),
        (10, 10),
        ("10", 10),
        (1, 1),
    ],
)
def test_good_sampling(raw, value, expected):
    ok = copy.deepcopy(raw)
    ok["sampling"] = value
    got = parse_params(ok).sampling
    assert got == expected and type(got) is type(expected)
    assert check_sampling("x", value) == expected


def test_frozen(raw):
    params = parse_params(copy.deepcopy(raw))
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.seed = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.classifier.lr = 1.0


@pytest.mark.parametrize("bad", [[], [2, 1], [1, 1], [1, 0], [1, "4"], 4, [1, 128]])
def test_style_pyramid_must_be_distinct_factors_starting_at_full_resolution(raw, bad):
    broken = copy.deepcopy(raw)
    broken["transfer"]["style_pyramid"] = bad
    assert "transfer.style_pyramid" in _error(broken)
