"""Credentials as estimator parameters: a masked value type and the mixin that guards it.

A hosted backend takes its key as a parameter (``api_key=None`` reads the
environment), and scikit-learn hands parameters around freely: ``repr``,
``get_params``, :func:`~sklearn.base.clone`, pickles, joblib dumps, logs. Two
pieces keep the key inside the process that was given it:

- :class:`Secret` wraps the value. It is not a ``str``, so code that would
  write it out must ask for it (``json.dumps`` refuses it); ``str``,
  f-strings and ``repr`` show ``***``; it never pickles (it unpickles to
  None); :meth:`Secret.reveal` returns the value.
- :class:`SecretParamsMixin` is put before the estimator's base class and
  names its secret parameters in ``_secret_params``. ``get_params`` hands
  them out as :class:`Secret` (so ``clone`` and ``set_params`` carry a
  working key without showing it), pickling stores None in their place,
  ``copy``/``deepcopy`` keep them, and :meth:`SecretParamsMixin._scrub`
  removes them from messages. The estimator accepts a plain ``str`` or a
  :class:`Secret` and calls :func:`reveal` only where it builds its client.
"""

import copy
import hmac

__all__ = ["Secret", "SecretParamsMixin", "reveal", "scrub"]

_MASK = "***"
# Pieces of a secret this long or longer are scrubbed from messages too.
_MIN_PIECE = 8


class Secret:
    """A credential that shows as ``***`` and never pickles.

    Parameters
    ----------
    value : str or Secret
        The credential.

    Examples
    --------
    >>> key = Secret("sk-abc123")
    >>> key, str(key), f"{key}"
    ('***', '***', '***')
    >>> key.reveal()
    'sk-abc123'
    >>> import pickle
    >>> pickle.loads(pickle.dumps(key)) is None
    True
    """

    __slots__ = ("_value",)

    def __init__(self, value):
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"A Secret holds a str, got {type(value).__name__}.")
        self._value = value

    def reveal(self):
        """The credential itself; call only where it is sent."""
        return self._value

    def __repr__(self):
        return f"'{_MASK}'"

    def __str__(self):
        return _MASK

    def __format__(self, spec):
        return format(_MASK, spec)

    def __eq__(self, other):
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self):
        return hash((Secret, self._value))

    def __reduce__(self):
        # A pickle may be shared or stored: it holds None instead of the value.
        return (_dropped, ())

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _dropped():
    return None


class _Withheld:
    """A secret parameter given as ``bytes`` rather than ``str``: never shown.

    ``get_params`` hands it out in place of the value (``b"sk-..."`` by
    mistake, say), so ``repr`` and the parameter-validation error show
    ``<bytes value, not shown>``; it pickles to None.
    """

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = value

    def __repr__(self):
        return f"<{type(self._value).__name__} value, not shown>"

    __str__ = __repr__

    def __reduce__(self):
        return (_dropped, ())

    def __copy__(self):  # a clone keeps it, so the clone is refused too
        return self

    def __deepcopy__(self, memo):
        return self


def reveal(value):
    """The plain value of a :class:`Secret`; anything else is returned as is."""
    return value.reveal() if isinstance(value, Secret) else value


def scrub(message, secret):
    """Remove a secret (whatever its length), and any piece of it of 8 characters or more.

    Parameters
    ----------
    message : str
    secret : str, Secret or None

    Returns
    -------
    message : str

    Examples
    --------
    >>> scrub("HTTP 401: bad key sk-abc123456789", Secret("sk-abc123456789"))
    'HTTP 401: bad key ***'
    >>> scrub("Incorrect API key provided: k3y.", "k3y")
    'Incorrect API key provided: ***.'
    """
    secret = reveal(secret)
    if not secret or not message:
        return message
    # The whole secret first, however short: a provider may echo a short key whole.
    message = message.replace(secret, _MASK)
    for length in range(len(secret) - 1, _MIN_PIECE - 1, -1):
        for start in range(0, len(secret) - length + 1):
            piece = secret[start : start + length]
            if piece in message:
                message = message.replace(piece, _MASK)
    return message


class SecretParamsMixin:
    """Keeps the parameters named in ``_secret_params`` out of every copy that leaves memory.

    Put it before the estimator's base class. ``get_params`` returns each
    secret parameter as a :class:`Secret` (a plain ``str`` is wrapped; a
    ``bytes`` one, which validation refuses, is withheld too), so
    :func:`~sklearn.base.clone` passes a working key to the new instance
    and ``repr`` shows ``***``; pickles (and joblib dumps) store None in its
    place; ``copy.copy`` and ``copy.deepcopy`` keep it.
    """

    # Names of the parameters that hold credentials.
    _secret_params = ()

    def get_params(self, deep=True):
        """Parameters of the estimator, each secret one as a :class:`Secret`.

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of nested estimators.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        for name in self._secret_params:
            value = params.get(name)
            if isinstance(value, str):
                params[name] = self._conceal(name, value)
            elif isinstance(value, (bytes, bytearray, memoryview)):
                params[name] = _Withheld(value)  # a key by mistake: invalid, never shown
        return params

    def _conceal(self, name, value):
        """How ``get_params`` hands out the secret parameter ``name`` given as a ``str``."""
        return Secret(value)

    def _redact(self, name, value):
        """What a pickle stores in place of the secret parameter ``name`` (default: None)."""
        return None

    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in self._secret_params:
            if name in state:
                state[name] = self._redact(name, state[name])
        return state

    def _keep_secrets(self, twin):
        for name in self._secret_params:
            if name in self.__dict__:
                setattr(twin, name, self.__dict__[name])
        return twin

    def __copy__(self):
        # An in-memory copy keeps the secrets (the pickle protocol, which copy
        # would use, drops them).
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__getstate__())
        return self._keep_secrets(twin)

    def __deepcopy__(self, memo):
        twin = type(self).__new__(type(self))
        memo[id(self)] = twin
        twin.__dict__.update(copy.deepcopy(self.__getstate__(), memo))
        return self._keep_secrets(twin)

    def _scrub(self, message, *also):
        """``message`` without the secret parameters' values nor those in ``also``."""
        for secret in [getattr(self, name, None) for name in self._secret_params] + list(also):
            message = scrub(message, secret)
        return message
