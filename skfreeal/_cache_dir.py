"""Where skfreeal keeps assembled models and the LLM response cache."""

import os
from pathlib import Path

__all__ = ["get_cache_dir"]


def get_cache_dir(subdir=None):
    """Return (and create) skfreeal's cache folder.

    The folder is ``$SKFREEAL_CACHE_DIR`` when set, else the user cache
    folder of the platform (``~/.cache/skfreeal`` on Linux).

    Parameters
    ----------
    subdir : str, default=None
        A sub-folder to return instead of the root.

    Returns
    -------
    path : pathlib.Path
    """
    root = os.environ.get("SKFREEAL_CACHE_DIR")
    if root:
        path = Path(root).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir("skfreeal", appauthor=False))
    if subdir:
        path = path / subdir
    path.mkdir(parents=True, exist_ok=True)
    return path
