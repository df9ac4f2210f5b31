"""The Secret value type and the mixin that keeps secret parameters out of copies."""

import copy
import json
import pickle

import pytest
from sklearn.base import BaseEstimator, clone

from skfreeal.labelers import Secret, SecretParamsMixin
from skfreeal.labelers._secrets import reveal, scrub

KEY = "tok-SECRET-0123456789abcdef"


class TokenClient(SecretParamsMixin, BaseEstimator):
    """A hosted backend's parameters in a few lines: the mixin does the guarding."""

    _secret_params = ("token",)

    def __init__(self, endpoint="https://example.invalid", *, token=None):
        self.endpoint = endpoint
        self.token = token


def test_secret_shows_stars_and_reveals_the_value():
    key = Secret(KEY)
    assert not isinstance(key, str)
    assert str(key) == "***" and f"{key}" == "***" and repr(key) == "'***'"
    assert f"[{key:^7}]" == "[  ***  ]"
    assert key.reveal() == KEY and Secret(key).reveal() == KEY
    assert reveal(key) == KEY and reveal(KEY) == KEY and reveal(None) is None


def test_secret_compares_by_value_with_secrets_only():
    assert Secret(KEY) == Secret(KEY) and Secret(KEY) != Secret("other")
    assert Secret(KEY) != KEY  # a Secret is not its str
    assert len({Secret(KEY), Secret(KEY)}) == 1


def test_secret_never_pickles_and_is_kept_by_copies():
    key = Secret(KEY)
    assert pickle.loads(pickle.dumps(key)) is None
    assert pickle.loads(pickle.dumps({"k": key})) == {"k": None}
    assert KEY.encode() not in pickle.dumps([key])
    assert copy.copy(key) is key and copy.deepcopy(key) is key


def test_secret_is_not_json():
    with pytest.raises(TypeError, match="not JSON serializable"):
        json.dumps({"token": Secret(KEY)})
    assert json.dumps({"token": Secret(KEY)}, default=str) == '{"token": "***"}'


def test_secret_holds_a_str_only():
    with pytest.raises(TypeError, match="A Secret holds a str, got int"):
        Secret(123)


def test_scrub_removes_the_secret_and_long_pieces_of_it():
    message = f"bad token {KEY}; also {KEY[4:16]} and {KEY[:5]}"
    assert scrub(message, Secret(KEY)) == f"bad token ***; also *** and {KEY[:5]}"
    assert scrub(message, None) == message and scrub("", KEY) == ""


def test_mixin_masks_params_drops_pickles_and_keeps_copies():
    client = TokenClient(token=KEY)
    params = client.get_params()
    assert isinstance(params["token"], Secret) and params["endpoint"] == client.endpoint
    assert KEY not in repr(client) and "token='***'" in repr(client)
    assert KEY.encode() not in pickle.dumps(client)
    assert pickle.loads(pickle.dumps(client)).token is None
    assert client.token == KEY  # pickling did not touch the original
    for twin in (clone(client), copy.copy(client), copy.deepcopy(client), clone(clone(client))):
        assert reveal(twin.token) == KEY
    assert TokenClient().get_params()["token"] is None
    assert client._scrub(f"refused {KEY}", "extra-secret-value") == "refused ***"
    assert client._scrub("with extra-secret-value", "extra-secret-value") == "with ***"


def test_mixin_deepcopy_keeps_shared_objects_shared():
    shared = ["x"]
    client = TokenClient(endpoint=shared, token=KEY)
    pair = copy.deepcopy([client, shared])
    assert pair[0].endpoint is pair[1] and pair[0].endpoint is not shared


def test_a_key_of_the_wrong_type_is_refused_without_showing_it():
    from skfreeal.labelers import OpenAILabeler

    labeler = OpenAILabeler("m", api_key=KEY.encode(), labels=["a", "b"], task="t")
    assert KEY not in repr(labeler) and "<bytes value, not shown>" in repr(labeler)
    assert KEY.encode() not in pickle.dumps(labeler)
    with pytest.raises(ValueError, match="api_key") as raised:
        labeler._validate_params()
    assert KEY not in str(raised.value) and "not shown" in str(raised.value)
    with pytest.raises(ValueError, match="api_key") as raised:
        clone(labeler)._validate_params()
    assert KEY not in str(raised.value)
