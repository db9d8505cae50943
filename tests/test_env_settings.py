"""config.env: settings read from environment variables, strictly."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_int, env_list, env_origin, env_str

NAME = "COLDSTART_TEST_SETTING"


@pytest.fixture
def setting(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)

    def set_to(value):
        monkeypatch.setenv(NAME, value)

    return set_to


def test_env_str_reads_the_variable_or_the_default(setting):
    assert env_str(NAME, "fallback") == "fallback"
    setting("value")
    assert env_str(NAME, "fallback") == "value"


@pytest.mark.parametrize("spelling", ["1", "true", "True", "TRUE", "yes", "on", " yes "])
def test_env_bool_accepts_the_spellings_of_true(setting, spelling):
    setting(spelling)
    assert env_bool(NAME, False) is True


@pytest.mark.parametrize("spelling", ["0", "false", "False", "no", "off", "OFF", ""])
def test_env_bool_accepts_the_spellings_of_false(setting, spelling):
    setting(spelling)
    assert env_bool(NAME, True) is False


def test_env_bool_uses_the_default_when_unset(setting):
    assert env_bool(NAME, True) is True
    assert env_bool(NAME, False) is False


@pytest.mark.parametrize("bad", ["maybe", "2", "y", "enabled", "tru"])
def test_env_bool_refuses_anything_else_naming_the_variable(setting, bad):
    setting(bad)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}='{bad}': expected one of"):
        env_bool(NAME, False)


def test_debug_maybe_stops_start_up(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG", False)


@pytest.mark.parametrize(("raw", "value"), [("42", 42), (" 7 ", 7), ("-3", -3)])
def test_env_int_accepts_whole_numbers(setting, raw, value):
    setting(raw)
    assert env_int(NAME, 0) == value


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_int_uses_the_default_when_unset_or_blank(setting, raw):
    if raw is not None:
        setting(raw)
    assert env_int(NAME, 5) == 5


@pytest.mark.parametrize("bad", ["ten", "1.5", "1e3", "0x10"])
def test_env_int_refuses_what_is_not_a_whole_number(setting, bad):
    setting(bad)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}='{bad}': expected a whole number$"):
        env_int(NAME, 0)


@pytest.mark.parametrize("bad", ["0", "11"])
def test_env_int_refuses_a_number_out_of_range(setting, bad):
    setting(bad)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}={bad}: expected a number from 1 to 10$"):
        env_int(NAME, 5, minimum=1, maximum=10)


def test_env_int_accepts_the_bounds_themselves(setting):
    setting("1")
    assert env_int(NAME, 5, minimum=1, maximum=10) == 1
    setting("10")
    assert env_int(NAME, 5, minimum=1, maximum=10) == 10


def test_env_int_with_only_a_minimum_refuses_a_smaller_number(setting):
    setting("10")
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}=10: "):
        env_int(NAME, 2048, minimum=1024)


def test_env_int_with_only_a_minimum_says_at_least_the_minimum(setting):
    setting("10")
    with pytest.raises(ImproperlyConfigured) as refused:
        env_int(NAME, 2048, minimum=1024)
    assert "None" not in str(refused.value)
    assert "at least 1024" in str(refused.value)


def test_env_int_with_only_a_maximum_says_at_most_the_maximum(setting):
    setting("20")
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}=20: expected a number at most 10$"):
        env_int(NAME, 5, maximum=10)


@pytest.mark.parametrize(("raw", "value"), [("0.5", 0.5), ("3", 3.0), ("1e-6", 1e-6), (" 2.5 ", 2.5)])
def test_env_float_accepts_numbers(setting, raw, value):
    setting(raw)
    assert env_float(NAME, 0.0) == value


def test_env_float_uses_the_default_when_blank(setting):
    setting("")
    assert env_float(NAME, 1.25) == 1.25


@pytest.mark.parametrize("bad", ["fast", "1,5", "$0.20"])
def test_env_float_refuses_what_is_not_a_number(setting, bad):
    setting(bad)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}=.*: expected a number$"):
        env_float(NAME, 0.0)


def test_env_float_refuses_a_number_below_the_minimum(setting):
    setting("-0.01")
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}=-0.01: expected at least 0"):
        env_float(NAME, 0.0, minimum=0)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_env_float_refuses_nan_and_infinity(setting, bad):
    setting(bad)
    with pytest.raises(ImproperlyConfigured):
        env_float(NAME, 0.0, minimum=0)


def test_env_choice_accepts_a_listed_value_and_the_default(setting):
    assert env_choice(NAME, ["", "namespaces", "full"], "") == ""
    setting("full")
    assert env_choice(NAME, ["", "namespaces", "full"], "") == "full"


@pytest.mark.parametrize("bad", ["FULL", "ful", " full"])
def test_env_choice_refuses_anything_not_listed_exactly(setting, bad):
    setting(bad)
    expected = rf"^{NAME}='{bad}': expected one of 'namespaces', 'full'$"
    with pytest.raises(ImproperlyConfigured, match=expected):
        env_choice(NAME, ["namespaces", "full"], "full")


def test_env_list_splits_on_commas_and_drops_blanks(setting):
    setting(" a.example , b.example,,")
    assert env_list(NAME, ["default"]) == ["a.example", "b.example"]


def test_env_list_uses_a_copy_of_the_default_when_unset(setting):
    default = ["localhost"]
    value = env_list(NAME, default)
    assert value == ["localhost"]
    assert value is not default


def test_database_url_gives_a_postgresql_entry_whose_connections_are_checked_before_reuse():
    from config.env import database_from_url

    config = database_from_url("postgres://coldstart:s3cret@db.example:6543/classroom", 60)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 6543, "classroom")
    assert (config["USER"], config["PASSWORD"]) == ("coldstart", "s3cret")
    assert config["CONN_MAX_AGE"] == 60 and config["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    "bad",
    ["mysql://u@h/db", "sqlite:///tmp/x.db", "db.example:5432/coldstart", "postgres://u@h:5432/"],
)
def test_database_url_refuses_what_is_not_a_postgresql_database_naming_the_variable(bad):
    from config.env import database_from_url

    with pytest.raises(ImproperlyConfigured, match="^DATABASE_URL: "):
        database_from_url(bad, 0)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("https://fn.example.org", "https://fn.example.org"),
        ("https://FN.Example.org/", "https://fn.example.org"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://[::1]:8001", "http://[::1]:8001"),
        ("", ""),
    ],
)
def test_env_origin_accepts_an_origin_and_normalises_it(setting, raw, value):
    setting(raw)
    assert env_origin(NAME) == value


@pytest.mark.parametrize(
    "bad",
    ["fn.example.org", "ftp://fn.example.org", "https://fn.example.org/fn/", "https://u:p@fn.example.org",
     "https://fn.example.org?x=1", "http://fn.example.org:99999", "https://"],
)
def test_env_origin_refuses_anything_but_an_origin(setting, bad):
    setting(bad)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME}=.*: expected http\(s\)://HOST"):
        env_origin(NAME)
