import dataclasses
import json
import re

import pytest

from gankit.config import _coerce, parse_overrides, sections, set_value, to_dict
from gankit.families.registry import apply_overrides, from_dict, new_config, validate
from gankit.errors import ConfigError


# ----------------------------------------------------------------------------- parse_overrides
def test_parse_overrides_equals_and_space_forms():
    out = parse_overrides(["--train.g_lr=1e-4", "--log.name", "run1", "--data.limit=none"])
    assert out == {"train.g_lr": "1e-4", "log.name": "run1", "data.limit": "none"}


def test_parse_overrides_keeps_values_as_strings_and_splits_at_the_first_equals():
    out = parse_overrides(["--log.name=a=b", "--train.steps", "7"])
    assert out == {"log.name": "a=b", "train.steps": "7"}
    assert all(isinstance(v, str) for v in out.values())


def test_parse_overrides_empty_and_last_one_wins():
    assert parse_overrides([]) == {}
    assert parse_overrides(["--train.steps=5", "--train.steps", "9"]) == {"train.steps": "9"}


def test_parse_overrides_negative_number_as_separate_value():
    assert parse_overrides(["--train.seed", "-3"]) == {"train.seed": "-3"}


@pytest.mark.parametrize("args", [["--train.steps"], ["--train.steps", "--train.seed=1"]])
def test_parse_overrides_missing_value(args):
    with pytest.raises(ConfigError, match=r"override '--train\.steps' has no value; write --train\.steps=VALUE"):
        parse_overrides(args)


@pytest.mark.parametrize("bad", ["train.steps=5", "-train.steps=5", "--", "5"])
def test_parse_overrides_rejects_arguments_without_double_dash(bad):
    with pytest.raises(ConfigError, match=rf"unexpected argument '{bad}'"):
        parse_overrides(["--train.seed=1", bad])


# ----------------------------------------------------------------------------- set_value / coercion
@pytest.mark.parametrize("word", ["true", "True", "YES", "on", "1"])
def test_bool_true_words(word):
    cfg = new_config()
    cfg.log.progress = False
    set_value(cfg, "log.progress", word)
    assert cfg.log.progress is True


@pytest.mark.parametrize("word", ["false", "FALSE", "no", "Off", "0"])
def test_bool_false_words(word):
    cfg = new_config()
    assert cfg.log.progress is True
    set_value(cfg, "log.progress", word)
    assert cfg.log.progress is False


@pytest.mark.parametrize("bad", ["maybe", "2", 1, 0.0])
def test_bool_rejects_other_values_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"log\.progress: expected a boolean"):
        set_value(new_config(), "log.progress", bad)


@pytest.mark.parametrize("raw, expected", [("1_000", 1000), ("42", 42), ("-3", -3), (7, 7), (5.0, 5)])
def test_int_coercion(raw, expected):
    cfg = new_config()
    set_value(cfg, "train.seed", raw)
    assert cfg.train.seed == expected and type(cfg.train.seed) is int


@pytest.mark.parametrize("bad", ["2.5", "ten", 2.5, True, None])
def test_int_rejects_non_integers_naming_the_key(bad):
    cfg = new_config()
    with pytest.raises(ConfigError, match=r"train\.steps: expected an integer"):
        set_value(cfg, "train.steps", bad)
    assert cfg.train.steps == new_config().train.steps  # left untouched on error


@pytest.mark.parametrize("raw, expected", [("1e-4", 1e-4), ("0.5", 0.5), (3, 3.0), ("2", 2.0)])
def test_float_coercion(raw, expected):
    cfg = new_config()
    set_value(cfg, "train.g_lr", raw)
    assert cfg.train.g_lr == pytest.approx(expected) and type(cfg.train.g_lr) is float


@pytest.mark.parametrize("bad", ["fast", False, [1e-4]])
def test_float_rejects_non_numbers_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"train\.d_lr: expected a number"):
        set_value(new_config(), "train.d_lr", bad)


@pytest.mark.parametrize("raw", ["none", "None", "null", None])
def test_optional_accepts_none(raw):
    cfg = new_config()
    cfg.log.name, cfg.data.limit = "x", 5
    set_value(cfg, "log.name", raw)
    set_value(cfg, "data.limit", raw)
    assert cfg.log.name is None and cfg.data.limit is None


def test_optional_coerces_to_the_inner_type_and_rejects_wrong_types():
    cfg = new_config()
    set_value(cfg, "data.limit", "1_500")
    set_value(cfg, "stab.unrolled_lr", "0.01")
    assert cfg.data.limit == 1500 and cfg.stab.unrolled_lr == pytest.approx(0.01)
    with pytest.raises(ConfigError, match=r"data\.limit: expected an integer, got 'lots'"):
        set_value(cfg, "data.limit", "lots")


def test_none_is_rejected_for_non_optional_keys():
    with pytest.raises(ConfigError, match=r"train\.loss: expected a string"):
        set_value(new_config(), "train.loss", None)
    with pytest.raises(ConfigError, match=r"train\.g_lr: expected a number"):
        set_value(new_config(), "train.g_lr", "none")


def test_str_values():
    cfg = new_config()
    set_value(cfg, "log.out_dir", "/tmp/x")
    assert cfg.log.out_dir == "/tmp/x"
    with pytest.raises(ConfigError, match=r"log\.out_dir: expected a string, got 5"):
        set_value(cfg, "log.out_dir", 5)


def test_tuple_from_comma_string_and_from_list():
    cfg = new_config()
    set_value(cfg, "stab.real_label_range", "0.7,1.2")
    assert cfg.stab.real_label_range == (0.7, 1.2) and isinstance(cfg.stab.real_label_range, tuple)
    set_value(cfg, "stab.fake_label_range", [0, 0.3])  # e.g. from JSON
    assert cfg.stab.fake_label_range == (0.0, 0.3) and isinstance(cfg.stab.fake_label_range, tuple)
    assert all(type(v) is float for v in cfg.stab.fake_label_range)
    set_value(cfg, "stab.real_label_range", "none")
    assert cfg.stab.real_label_range is None


def test_tuple_rejects_bad_items_naming_the_key():
    with pytest.raises(ConfigError, match=r"stab\.real_label_range: expected a number, got 'high'"):
        set_value(new_config(), "stab.real_label_range", "0.7,high")


def test_coerce_directly():
    assert _coerce("off", bool, "k") is False
    assert _coerce("12_000", int, "k") == 12000
    assert _coerce("none", int | None, "k") is None
    assert _coerce("1,2", tuple[float, ...], "k") == (1.0, 2.0)
    with pytest.raises(ConfigError, match=r"^where\.x: expected an integer, got 'a'$"):
        _coerce("a", int, "where.x")


# ----------------------------------------------------------------------------- unknown sections / keys
def test_unknown_section_names_the_valid_sections():
    with pytest.raises(ConfigError, match=r"unknown config section 'bogus'; valid sections: ") as e:
        set_value(new_config(), "bogus.steps", 1)
    for sec in ("data", "train", "log", "stab"):
        assert sec in str(e.value)


def test_unknown_key_names_the_valid_keys_of_that_section():
    with pytest.raises(ConfigError, match=r"unknown config key 'train\.lr'; valid keys of 'train': ") as e:
        set_value(new_config(), "train.lr", 1e-4)
    msg = str(e.value)
    for key in ("steps", "batch_size", "g_lr", "d_lr", "loss"):
        assert key in msg
    assert "out_dir" not in msg  # keys of another section are not offered


def test_key_without_section():
    with pytest.raises(ConfigError, match=r"config key 'steps' must be 'section\.key'; sections: .*train"):
        set_value(new_config(), "steps", 5)


# ----------------------------------------------------------------------------- apply_overrides / validate
def test_apply_overrides_sets_typed_values():
    cfg = new_config()
    out = apply_overrides(cfg, parse_overrides(
        ["--train.steps=1_000", "--train.g_lr", "1e-4", "--log.tensorboard=off", "--data.limit=none",
         "--stab.real_label_range=0.8,1.1", "--train.loss=lsgan"]))
    assert out is cfg
    assert cfg.train.steps == 1000 and cfg.train.g_lr == pytest.approx(1e-4)
    assert cfg.log.tensorboard is False and cfg.data.limit is None
    assert cfg.stab.real_label_range == (0.8, 1.1) and cfg.train.loss == "lsgan"
    assert cfg.train.d_lr == new_config().train.d_lr  # untouched keys keep their defaults


def test_default_config_is_valid():
    validate(new_config())


@pytest.mark.parametrize("key, value", [("train.loss", "bogus"), ("train.g_opt", "adagrad"), ("train.d_opt", "Adam")])
def test_validate_choices(key, value):
    with pytest.raises(ConfigError, match=rf"{key}='{value}' is not valid; choose one of: ") as e:
        apply_overrides(new_config(), {key: value})
    assert "adam" in str(e.value) or "nonsat" in str(e.value)


@pytest.mark.parametrize("key, value", [("train.steps", "0"), ("train.batch_size", "-4"), ("train.g_lr", "0"),
                                        ("train.d_lr", "-1e-4"), ("log.log_every", "0"), ("log.eval_n", "0"),
                                        ("log.keep_ckpts", "0"), ("log.n_grid", "-1")])
def test_validate_positivity(key, value):
    with pytest.raises(ConfigError, match=rf"{key} must be > 0"):
        apply_overrides(new_config(), {key: value})


def test_validate_accepts_smallest_positive_values():
    cfg = apply_overrides(new_config(), {"train.steps": "1", "train.g_lr": "1e-9", "log.n_grid": "1"})
    assert cfg.train.steps == 1


def test_validate_stab_choices_and_ranges():
    with pytest.raises(ConfigError, match=r"stab\.lr_decay='step' is not valid"):
        apply_overrides(new_config(), {"stab.lr_decay": "step"})
    with pytest.raises(ConfigError, match=r"stab\.real_label_range must be two numbers lo,hi"):
        apply_overrides(new_config(), {"stab.real_label_range": "1.2,0.7"})
    with pytest.raises(ConfigError, match=r"stab\.instance_noise must be >= 0"):
        apply_overrides(new_config(), {"stab.instance_noise": "-0.1"})


# ----------------------------------------------------------------------------- to_dict / from_dict
def _modified():
    cfg = new_config()
    cfg.preset = "custom"
    cfg.train.steps, cfg.train.g_lr, cfg.train.loss, cfg.train.threads = 123, 5e-5, "lsgan", 2
    cfg.data.name, cfg.data.limit, cfg.data.download = "ring8", 64, False
    cfg.log.name, cfg.log.progress = "myrun", False
    cfg.stab.real_label_range, cfg.stab.instance_noise, cfg.stab.unrolled_lr = (0.7, 1.2), 0.1, 0.003
    return cfg


def test_to_dict_is_plain_nested_dicts():
    d = to_dict(_modified())
    assert d["preset"] == "custom"
    assert d["train"]["steps"] == 123 and d["train"]["loss"] == "lsgan"
    assert d["data"]["limit"] == 64 and d["log"]["name"] == "myrun" and d["log"]["progress"] is False
    assert d["stab"]["real_label_range"] == (0.7, 1.2)
    json.dumps(d)  # JSON-serialisable


def test_round_trip_through_json():
    cfg = _modified()
    back = from_dict(json.loads(json.dumps(to_dict(cfg))))
    assert back == cfg
    assert back.stab.real_label_range == (0.7, 1.2) and isinstance(back.stab.real_label_range, tuple)
    assert back.log.name == "myrun" and back.data.download is False
    assert to_dict(back) == to_dict(cfg)


def test_from_dict_partial_keeps_defaults():
    cfg = from_dict({"train": {"steps": 10}, "log": {"name": None}})
    assert cfg.train.steps == 10 and cfg.log.name is None
    assert cfg.train.batch_size == new_config().train.batch_size and cfg.stab == new_config().stab


def test_from_dict_errors():
    with pytest.raises(ConfigError, match="config must be a JSON object"):
        from_dict([1, 2])
    with pytest.raises(ConfigError, match=r"config section 'train' must be an object"):
        from_dict({"train": 5})
    with pytest.raises(ConfigError, match=r"unknown config key 'train\.lr'; valid keys of 'train'"):
        from_dict({"train": {"lr": 1e-3}})
    with pytest.raises(ConfigError, match=r"unknown config section 'optim'"):
        from_dict({"optim": {"lr": 1e-3}})
    with pytest.raises(ConfigError, match=r"train\.steps: expected an integer"):
        from_dict({"train": {"steps": "many"}})
    with pytest.raises(ConfigError, match=r"train\.steps must be > 0"):  # validated after loading
        from_dict({"train": {"steps": 0}})


# ----------------------------------------------------------------------------- finite floats and ranges
FLOAT_KEYS = [f"{sec}.{f.name}" for sec, obj in sections(new_config()).items() if sec != "model"
              for f in dataclasses.fields(obj) if isinstance(getattr(obj, f.name), float)]


def test_every_float_key_is_listed():
    assert {"train.g_lr", "train.d_lr", "train.gp_lambda", "train.lsgan_a", "stab.label_smooth",
            "stab.lr_decay_floor", "stab.r1_gamma"} <= set(FLOAT_KEYS)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("key", FLOAT_KEYS + ["stab.unrolled_lr"])
def test_non_finite_floats_are_refused(key, value):
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)} must be a finite number, got {value}$"):
        validate(apply_overrides(new_config(), {key: value}))


def test_non_finite_label_range_is_refused():
    with pytest.raises(ConfigError, match=r"stab\.real_label_range must be a finite number"):
        validate(apply_overrides(new_config(), {"stab.real_label_range": "0.7,nan"}))


@pytest.mark.parametrize("key, value, message", [
    ("train.beta1", "1", r"train\.beta1 must be in \[0, 1\), got 1\.0"),
    ("train.beta2", "-0.1", r"train\.beta2 must be in \[0, 1\), got -0\.1"),
    ("train.momentum", "-0.5", r"train\.momentum must be >= 0, got -0\.5"),
    ("train.gp_lambda", "-1", r"train\.gp_lambda must be >= 0, got -1\.0"),
    ("train.acgan_weight", "-1", r"train\.acgan_weight must be >= 0, got -1\.0"),
    ("train.clip", "0", r"train\.clip must be > 0, got 0\.0"),
    ("train.threads", "0", r"train\.threads must be >= 1 \(or none\), got 0"),
    ("data.limit", "0", r"data\.limit must be >= 1 \(or none\), got 0"),
    ("data.resolution", "-8", r"data\.resolution must be >= 1 \(or none\), got -8"),
    ("train.device", "tpu", r"train\.device='tpu' is not valid; choose auto, cpu, cuda, cuda:N or mps"),
    ("train.device", "cuda:x", r"train\.device='cuda:x' is not valid"),
    ("log.name", "../../x", r"log\.name='\.\./\.\./x' must be a plain folder name"),
    ("log.name", "a/b", r"log\.name='a/b' must be a plain folder name"),
    ("log.name", "a\\b", r"log\.name='a\\\\b' must be a plain folder name"),
    ("log.name", "..", r"log\.name='\.\.' must be a plain folder name"),
])
def test_out_of_range_values_name_the_key_and_range(key, value, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(new_config(), {key: value})


@pytest.mark.parametrize("key, value", [("train.beta1", "0"), ("train.beta2", "0.999"), ("train.momentum", "0"),
                                        ("train.gp_lambda", "0"), ("train.threads", "none"), ("train.threads", "1"),
                                        ("train.device", "cuda:1"), ("train.device", "mps"), ("train.device", "cpu"),
                                        ("log.name", "run-1.b"), ("train.lsgan_a", "-1")])
def test_in_range_values_are_accepted(key, value):
    validate(apply_overrides(new_config(), {key: value}))


def test_validate_stab_alone_refuses_non_finite_values():
    from gankit.config import StabConfig
    from gankit.stabilizers import validate_stab

    with pytest.raises(ConfigError, match=r"stab\.label_smooth must be a finite number, got inf"):
        validate_stab(StabConfig(label_smooth=float("inf")))
