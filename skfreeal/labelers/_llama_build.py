"""Refuse, with the fix, a llama-cpp-python build whose AMX kernels crash on this machine.

pip compiles llama-cpp-python for the CPU it builds on (``GGML_NATIVE``). On
an Intel Xeon with AMX, that build moves the weights into AMX buffers and, on
some machines (seen here in a virtual machine; reported upstream as
ggml-org/llama.cpp#20824, "segfault in ggml_backend_amx_mul_mat", with
Q4_K_M models such as the packaged ones), the first evaluation kills the
process with a segmentation fault: no exception, no message, nothing saved
since the last cached answer.

So before a build with AMX kernels loads a model in this process,
:func:`check_llama_build` evaluates a few tokens of that model in a child
process. A crash there becomes an :class:`LlamaBuildError` here, naming the
reinstall command; the verdict is kept in skfreeal's cache folder for that
build, model and CPU, so the check costs one child process (a second or
two) once per machine. A build without AMX (every AMD or older Intel CPU,
or a build with ``GGML_NATIVE=OFF``) is never checked.
"""

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["LlamaBuildError", "REBUILD_COMMAND", "check_llama_build"]

logger = logging.getLogger("skfreeal.labelers")

#: How to rebuild llama-cpp-python without the machine's own CPU features.
REBUILD_COMMAND = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install --force-reinstall --no-deps --no-cache-dir llama-cpp-python=={version}"
)
_VERDICTS = "llama-build-check.json"
_PROBE_TIMEOUT = 300.0
# The child: load the model as LocalLabeler does and evaluate a few tokens.
_PROBE = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, n_batch=64, verbose=False)
llm.eval(llm.tokenize(b"The sky is blue and the grass is green.", add_bos=False))
"""


class LlamaBuildError(RuntimeError):
    """The installed llama-cpp-python crashes on this machine; the message says how to fix it."""


def system_info():
    """llama.cpp's report of the CPU features its build uses (e.g. ``"AMX_INT8 = 1"``)."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", "replace")


def uses_amx(info):
    """Whether a build's system info shows AMX kernels compiled in and in use."""
    return any(part.strip().startswith("AMX") and part.strip().endswith("= 1")
               for part in info.split("|"))


def probe(model_path):
    """Evaluate a few tokens of ``model_path`` in a child process; its return code.

    A negative code is the signal that killed the child (``-11``: SIGSEGV).
    """
    done = subprocess.run([sys.executable, "-c", _PROBE, str(model_path)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=_PROBE_TIMEOUT, check=False)
    return done.returncode


def check_llama_build(model_path):
    """Raise :class:`LlamaBuildError` if this build crashes on this machine with this model.

    Parameters
    ----------
    model_path : str
        The GGUF file about to be loaded.

    Raises
    ------
    LlamaBuildError
        The build has AMX kernels and evaluating the model in a child
        process killed it by a signal (now or at an earlier check of the
        same build, model and CPU).
    """
    info = system_info()
    if not uses_amx(info):
        return
    import llama_cpp

    key = _verdict_key(llama_cpp, info, model_path)
    verdicts = _read_verdicts()
    code = verdicts.get(key)
    if code is None:
        logger.info("llama-cpp-python uses AMX kernels here, which crash on some machines: "
                    "checking them once in a child process.")
        try:
            code = probe(model_path)
        except subprocess.TimeoutExpired:
            logger.warning("The check of llama-cpp-python's AMX kernels took over %.0f s; "
                           "going on without it.", _PROBE_TIMEOUT)
            return
        if code > 0:  # an error in the child (memory, a file): the load here will say
            return
        verdicts[key] = code
        _write_verdicts(verdicts)
    if code < 0:
        raise LlamaBuildError(_message(-code, llama_cpp.__version__))


def _message(signum, version):
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return (
        f"llama-cpp-python {version} was compiled for this CPU's AMX instructions, and "
        f"evaluating a model with it crashed a test process ({name}); in this process it "
        "would have killed Python without a message (a known llama.cpp fault: "
        "ggml-org/llama.cpp#20824). Rebuild it for AVX2 instead, then run the same "
        f"command again (the cached LLM answers are kept): "
        f"{REBUILD_COMMAND.format(version=version)}"
    )


def _verdict_key(llama_cpp, info, model_path):
    library = Path(llama_cpp.__file__).parent / "lib"
    builds = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime))
                    for p in library.glob("*.so*")) if library.is_dir() else []
    stat = os.stat(model_path)
    material = json.dumps([llama_cpp.__version__, info, builds, _cpu_model(),
                           str(model_path), stat.st_size, int(stat.st_mtime)])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor()


def _verdicts_path():
    from .._cache_dir import get_cache_dir

    return get_cache_dir() / _VERDICTS


def _read_verdicts():
    try:
        return json.loads(_verdicts_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_verdicts(verdicts):
    path = _verdicts_path()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(verdicts, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache folder: check again next time
        logger.debug("Could not record the llama-cpp-python check in %s: %s", path, exc)
