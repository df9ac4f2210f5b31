"""Which endpoint an OpenAI-compatible labeler calls, and the credentials its URL may hold.

One resolution order everywhere (the labeler, the command line, the
estimate): the ``base_url`` parameter, then the ``OPENAI_BASE_URL``
environment variable, then OpenAI's URL. A URL may carry credentials
(``https://user:secret@host/v1``, or a query such as ``?api-key=...``):
they are sent as HTTP Basic authentication (what curl and httpx do with
such a URL) and never shown. :func:`public_url` is the form that may be
printed, logged or pickled.
"""

import base64
import os
import re
from urllib.parse import urlsplit, urlunsplit

from ._secrets import Secret, reveal

__all__ = [
    "OPENAI_URL",
    "SecretURL",
    "basic_auth_header",
    "has_credentials",
    "public_url",
    "resolve_base_url",
    "split_credentials",
]

OPENAI_URL = "https://api.openai.com/v1"


def resolve_base_url(base_url):
    """The endpoint to call: ``base_url``, else ``$OPENAI_BASE_URL``, else OpenAI's.

    Parameters
    ----------
    base_url : str, Secret or None

    Returns
    -------
    url : str
        The full URL, credentials included (to be sent, never shown).

    Examples
    --------
    >>> resolve_base_url("http://127.0.0.1:8000/v1")
    'http://127.0.0.1:8000/v1'
    """
    return reveal(base_url) or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL


def _host(parts):
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a malformed port: show the URL without it
        port = None
    return f"{host}:{port}" if port else host


def has_credentials(url):
    """Whether a URL holds user info or a query (either may be a credential)."""
    url = reveal(url)
    if not url:
        return False
    parts = urlsplit(url)
    return bool(parts.username or parts.password or parts.query or "@" in parts.netloc)


def split_credentials(url):
    """``(url without user info, (user, password) or None)``.

    Examples
    --------
    >>> split_credentials("https://me:pw@example.com/v1")
    ('https://example.com/v1', ('me', 'pw'))
    >>> split_credentials("http://127.0.0.1:8000/v1")
    ('http://127.0.0.1:8000/v1', None)
    """
    url = reveal(url)
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    clean = urlunsplit((parts.scheme, _host(parts), parts.path, parts.query, parts.fragment))
    from urllib.parse import unquote

    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def public_url(url):
    """The URL without user info, query or fragment: what may be shown, logged or pickled.

    Examples
    --------
    >>> public_url("https://me:pw@example.com/v1/?api-key=abc")
    'https://example.com/v1'
    >>> public_url("me:pw@example.com/v1")
    'example.com/v1'
    """
    url = reveal(url)
    if not url:
        return url
    if "//" not in url:  # no scheme: "me:pw@host/v1" is no URL to urlsplit (scheme "me")
        url = re.sub(r"^[^/?#]*@", "", url).split("?", 1)[0].split("#", 1)[0]
        return url.rstrip("/")
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, _host(parts), parts.path.rstrip("/"), "", ""))


def basic_auth_header(user, password):
    """The ``Authorization`` header value of HTTP Basic authentication."""
    token = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
    return f"Basic {token}"


class SecretURL(Secret):
    """A URL holding credentials: shows (and pickles) only its public part.

    ``str``, ``repr`` and f-strings give :func:`public_url` with ``***`` in
    place of the credentials; a pickle holds the public URL (a reloaded
    labeler still knows its endpoint, not the credentials);
    :meth:`reveal` returns the URL as given.

    Examples
    --------
    >>> url = SecretURL("https://me:pw@example.com/v1")
    >>> url, str(url)
    ('https://***@example.com/v1', 'https://***@example.com/v1')
    >>> url.reveal()
    'https://me:pw@example.com/v1'
    """

    __slots__ = ()

    def _shown(self):
        parts = urlsplit(self._value)
        user = "***@" if "@" in parts.netloc else ""
        query = "?***" if parts.query else ""
        return urlunsplit((parts.scheme, user + _host(parts), parts.path, "", "")) + query

    def __repr__(self):
        return repr(self._shown())

    def __str__(self):
        return self._shown()

    def __format__(self, spec):
        return format(self._shown(), spec)

    def __reduce__(self):
        return (str, (public_url(self._value),))
