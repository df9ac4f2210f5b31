"""``skfreeal batches``: the Batch API batches recorded in the response cache.

A batch run (``skfreeal label --batch``, ``OpenAILabeler(batch=True)``)
records each batch in the response cache before it waits for it, and drops
the record once its answers are stored. A record left behind belongs to a
run that stopped: the same command collects it. This command lists those
records and forgets the ones known to be gone, which a run refuses to
submit again on its own (it may run, and be billed, elsewhere).
"""

import time
from pathlib import Path

import click

from ._errors import CLIError

__all__ = ["batches"]


@click.command()
@click.option(
    "--cache", "cache_path", default=None, type=click.Path(dir_okay=False, path_type=str),
    help="The response cache (an SQLite file). Default: responses.sqlite in skfreeal's cache "
    "folder ($SKFREEAL_CACHE_DIR or the user cache folder), the one 'skfreeal label' uses.",
)
@click.option(
    "--forget", multiple=True, metavar="ID",
    help="Forget the batch with this id (or, for a batch whose id was never heard, its "
    "record's token), so that the next run submits its requests again. Repeatable.",
)
def batches(cache_path, forget):
    """List the batches recorded in the response cache whose answers are not stored yet.

    Each line: the batch id, its requests, when it was recorded, the model and
    the endpoint. No API call is made: the provider is asked about a batch
    only by a run that needs its answers.
    """
    from ..labelers import ResponseCache
    from ..labelers._batch import _duration

    path = _cache_path(cache_path)
    if not path.is_file():
        if cache_path is not None:
            raise CLIError(f"--cache {cache_path}: no such file")
        click.echo(f"No batch recorded: there is no response cache yet ({path}).")
        return
    cache = ResponseCache(path)
    for batch_id in forget:
        records = [r for r in cache.pending_batches() if batch_id in (r["batch_id"], r["token"])]
        if not records or not cache.drop_batch(batch_id):
            raise CLIError(f"--forget {batch_id}: no batch with that id is recorded in {path}")
        click.echo(f"Forgot batch {batch_id} ({len(records[0]['keys'])} requests to "
                   f"{records[0]['model']} at {records[0]['endpoint']}): the next run submits "
                   "them again, and answers it still brings are not collected.")
    if forget:
        return
    records = cache.pending_batches()
    if not records:
        click.echo(f"No batch recorded in {path}.")
        return
    click.echo(f"{len(records)} batch(es) recorded in {path} (a run that asks any of a "
               "batch's requests again collects it):")
    now = time.time()
    for record in records:
        name = record["batch_id"] or f"{record['token']} (id never heard)"
        click.echo(f"  {name}  {len(record['keys'])} requests  recorded "
                   f"{_duration(now - record['created'])} ago  {record['model']}  "
                   f"{record['endpoint']}")


def _cache_path(cache_path):
    """The response cache file: the option's, else the default the labelers use."""
    if cache_path is not None:
        return Path(cache_path).expanduser()
    from .._cache_dir import get_cache_dir

    return get_cache_dir() / "responses.sqlite"

