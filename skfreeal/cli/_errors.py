"""The command line's error type and the translation of known failures into it."""

import contextlib
import os

import click

__all__ = ["CLIError", "EXIT_INTERRUPTED", "one_line", "user_errors"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CLIError(click.ClickException):
    """Bad input or an unusable setting: one line on stderr, exit status 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message):
        super().__init__(one_line(message))


def one_line(text, limit=500):
    """Collapse whitespace so a message fits on one line; cut very long ones."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def user_errors(where):
    """Turn the failures a user can fix into :class:`CLIError`.

    Parameters
    ----------
    where : str
        What was being done, e.g. ``"fit"``; prefixes the message.

    Notes
    -----
    Bad tables (:class:`skfreeal.io.TableError`), missing model packages
    (``FileNotFoundError``), invalid estimator parameters (``ValueError`` /
    ``TypeError`` raised by their validation), the labelers' budget and
    failed-call errors and the LLM endpoint's connection, authentication and
    not-found errors become a one-line message;
    anything else propagates with its traceback. Setting the environment
    variable ``SKFREEAL_DEBUG=1`` lets every failure propagate.
    """
    from ..io import TableError

    if os.environ.get("SKFREEAL_DEBUG"):
        yield
        return
    try:
        yield
    except TableError as exc:
        raise CLIError(str(exc)) from exc
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise CLIError(f"{where}: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise CLIError(f"{where}: {exc}") from exc
    except Exception as exc:
        message = _endpoint_message(exc)
        if message is None:
            raise
        raise CLIError(f"{where}: {message}") from exc


def _endpoint_message(exc):
    """A message for an LLM failure (endpoint, budget), or None if ``exc`` is not one."""
    from ..labelers import BudgetExceededError, LlamaBuildError, LLMCallError

    if isinstance(exc, BudgetExceededError):
        return f"{exc} (raise --max-cost or --max-llm-tokens; the answers so far are cached)"
    if isinstance(exc, LLMCallError):
        return f"the LLM call failed: {exc}"
    if isinstance(exc, LlamaBuildError):
        return str(exc)
    try:
        import openai
    except ImportError:  # pragma: no cover - a declared dependency
        openai = None
    if openai is not None:
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach the LLM endpoint: {exc}"
        if isinstance(exc, openai.AuthenticationError):
            return f"the LLM endpoint rejected the API key (set OPENAI_API_KEY): {exc}"
        if isinstance(exc, openai.NotFoundError):
            return f"the LLM endpoint does not know this model or path: {exc}"
        if isinstance(exc, openai.PermissionDeniedError):
            return f"the LLM endpoint refused the request: {exc}"
    if isinstance(exc, ConnectionError):
        return f"cannot reach the LLM endpoint: {exc}"
    return None
