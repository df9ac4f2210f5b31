"""The floating-point precision of the student's passes: float32, or bfloat16 autocast.

bfloat16 halves the bytes of activations and, where the hardware has bf16
arithmetic (AVX512-BF16 or AMX on x86 CPUs; most recent GPUs), speeds up the
matrix products. Without native support the CPU emulates it, which is slower
than float32: ``"auto"`` uses bfloat16 only where it is native.
"""

import contextlib
import functools
from pathlib import Path

import torch

__all__ = ["autocast", "native_bf16", "quantize_int8", "resolve_precision"]

# CPU flags of native bf16 arithmetic (Linux /proc/cpuinfo names).
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=None)
def _cpu_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no flags known, so no native bf16 assumed
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device):
    """Whether ``device`` ("cpu", "cuda", "cuda:1", ...) has native bfloat16 arithmetic."""
    kind = torch.device(device).type
    if kind == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if kind == "cpu":
        return any(flag in _cpu_flags() for flag in _BF16_FLAGS)
    return False


def resolve_precision(precision, device):
    """The dtype of the autocast passes: ``torch.bfloat16``, or None for float32.

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        ``"auto"``: bfloat16 where ``device`` has native support, else float32.
    device : str or torch.device

    Returns
    -------
    dtype : torch.dtype or None
    """
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto":
        return torch.bfloat16 if native_bf16(device) else None
    raise ValueError(
        f"precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}."
    )


def autocast(device, dtype):
    """``torch.autocast`` to ``dtype`` on ``device``, or nothing when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def quantize_int8(module):
    """A copy of ``module`` with its linear layers dynamically quantized to int8 (CPU).

    Weights are stored in int8 and activations quantized on the fly, batch
    by batch (``torch.ao.quantization.quantize_dynamic``): about half the
    CPU time of a float32 pass of all-MiniLM-L6-v2, for inference only.
    """
    import copy
    import warnings

    with warnings.catch_warnings():
        # torch >= 2.10 points eager quantization users to torchao, which is
        # not a dependency; the eager API still works and is what is tested.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(module).to("cpu").eval(), {torch.nn.Linear}, dtype=torch.qint8
        )
