"""``skfreeal batches``: the Batch API batches recorded in the response cache.

A batch run (``skfreeal label --batch``, ``OpenAILabeler(batch=True)``)
records each batch in the response cache before it waits for it, and drops
the record once its answers are stored. A record left behind belongs to a
run that stopped: the same command collects it. This command lists those
records and forgets the ones known to be gone, which a run refuses to
submit again on its own (it may run, and be billed, elsewhere).
"""

import sqlite3
import time
from pathlib import Path

import click

from ._errors import CLIError

__all__ = ["batches"]

# Seconds --forget waits for a cache another process is writing.
_LOCK_TIMEOUT = 5.0


@click.command()
@click.option(
    "--cache", "cache_path", default=None, type=click.Path(dir_okay=False, path_type=str),
    help="The response cache (an SQLite file). Default: responses.sqlite in skfreeal's cache "
    "folder ($SKFREEAL_CACHE_DIR or the user cache folder), the one 'skfreeal label' uses.",
)
@click.option(
    "--forget", multiple=True, metavar="TOKEN",
    help="Forget the record with this token (or batch id, when only one record has it), so "
    "that the next run submits its requests again. Repeatable.",
)
def batches(cache_path, forget):
    """List the batches recorded in the response cache whose answers are not stored yet.

    Each line: the batch id, the record's token, its requests, when it was
    recorded, the model and the endpoint. No API call is made: the provider
    is asked about a batch only by a run that needs its answers.
    """
    from ..labelers._batch import _duration

    path, option = _cache_path(cache_path)
    if not path.is_file():
        if cache_path is not None:
            raise CLIError(f"{option}: no such file")
        click.echo(f"No batch recorded: there is no response cache yet ({path}).")
        return
    records = _read_records(path, option)
    if forget:
        _forget(path, option, records, forget)
        return
    if not records:
        click.echo(f"No batch recorded in {path}.")
        return
    click.echo(f"{len(records)} batch(es) recorded in {path} (a run that asks any of a "
               "batch's requests again collects it):")
    now = time.time()
    for record in records:
        click.echo(f"  {record['batch_id'] or '(id never heard)'}  token {record['token']}  "
                   f"{len(record['keys'])} requests  recorded "
                   f"{_duration(now - record['created'])} ago  {record['model']}  "
                   f"{record['endpoint']}")


def _cache_path(cache_path):
    """The response cache file and how to name it in a message."""
    if cache_path is not None:
        return Path(cache_path).expanduser(), f"--cache {cache_path}"
    from .._cache_dir import get_cache_dir

    path = get_cache_dir() / "responses.sqlite"
    return path, str(path)


def _read_records(path, option):
    """The batch records of a response cache, read without writing to the file."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=_LOCK_TIMEOUT)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "batches" not in tables:
                raise CLIError(f"{option}: not a skfreeal response cache (no batches table)")
            rows = conn.execute("SELECT token FROM batches").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise CLIError(f"{option}: cannot be read as a response cache ({exc})") from None
    if not rows:
        return []
    from ..labelers import ResponseCache

    return ResponseCache(path, timeout=_LOCK_TIMEOUT).pending_batches()


def _forget(path, option, records, names):
    """Drop the records named by token or (unambiguous) batch id."""
    from ..labelers import ResponseCache

    chosen = []
    for name in names:
        matches = [r for r in records if name in (r["token"], r["batch_id"])]
        if not matches:
            raise CLIError(f"--forget {name}: no batch with that token or id is recorded in "
                           f"{path}")
        if len(matches) > 1:
            tokens = ", ".join(r["token"] for r in matches)
            raise CLIError(f"--forget {name}: {len(matches)} records have that batch id "
                           f"(other endpoints or models); give one of their tokens: {tokens}")
        chosen.append(matches[0])
    cache = ResponseCache(path, timeout=_LOCK_TIMEOUT)
    for record in chosen:
        try:
            cache.drop_batch(record["token"])
        except sqlite3.Error as exc:
            raise CLIError(f"{option}: cannot be written ({exc})") from None
        click.echo(f"Forgot batch {record['batch_id'] or record['token']} "
                   f"({len(record['keys'])} requests to {record['model']} at "
                   f"{record['endpoint']}): the next run submits them again, and answers it "
                   "still brings are not collected.")
