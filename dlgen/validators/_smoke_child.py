"""The smoke test's child process: one training step of the project's model.

Run by the smoke check as ``python -m dlgen.validators._smoke_child --entry MOD:FN
--result FILE [--device auto|cpu] [--memory-limit-mb N]``, in a scratch directory,
with the project's ``src`` on ``PYTHONPATH``. It imports only the standard library and
torch, so nothing of dlgen's state leaks into the project's code.

Steps (each is written to ``FILE.phase`` before it starts, so a parent that had to kill
the child can say where it hung): import torch; tighten ``RLIMIT_AS`` to "address
space now + memory limit" on CPU; import and call the entry point with the device;
forward under ``FlopCounterMode``; loss; backward; inspect gradients; time a second,
uninstrumented step. The result is written as JSON to ``FILE`` (never to stdout, which
the project's code may print to).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

REQUIRED_KEYS = ("model", "inputs", "expected_output_shape", "loss_fn")
MAX_NAMES = 50


class SmokeFailure(Exception):
    """The entry point returned something the contract does not allow."""


def _phase(result_path: Path, name: str) -> None:
    """Record the phase about to start."""
    result_path.with_suffix(".phase").write_text(name, encoding="utf-8")


def _enter(result: dict[str, Any], result_path: Path, name: str) -> None:
    """Start a phase: in the result and the phase marker file; time the previous one."""
    now = time.perf_counter()
    previous, started = result.get("phase"), result.get("_phase_start")
    if previous and started is not None:
        result["phase_seconds"][previous] = round(now - started, 3)
    result["phase"], result["_phase_start"] = name, now
    _phase(result_path, name)


def _error(exc: BaseException) -> dict[str, Any]:
    """An exception as JSON: type, message, and the traceback's frames."""
    frames = [
        {"file": frame.filename, "line": frame.lineno or 0, "function": frame.name}
        for frame in traceback.extract_tb(exc.__traceback__)
    ]
    message = str(exc)
    kind = type(exc).__name__
    memory = isinstance(exc, MemoryError) or kind == "OutOfMemoryError"
    lowered = message.lower()
    memory = memory or "can't allocate memory" in lowered or "out of memory" in lowered
    return {"type": kind, "message": message[:2000], "frames": frames, "memory": memory}


def _address_space_mb() -> float:
    """This process's virtual memory size in MiB (0 when unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _limit_address_space(memory_limit_mb: int) -> None:
    """Allow ``memory_limit_mb`` of address space beyond what is mapped now."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    base = _address_space_mb()
    if base <= 0:
        return
    limit = int((base + memory_limit_mb) * 2**20)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _limit_cuda_memory(device: Any, memory_limit_mb: int) -> None:
    """Cap this process's share of the GPU at ``memory_limit_mb``; reset peak stats."""
    import torch

    torch.cuda.reset_peak_memory_stats(device)
    if memory_limit_mb > 0:
        total = torch.cuda.get_device_properties(device).total_memory
        fraction = min(1.0, memory_limit_mb * 2**20 / total)
        torch.cuda.set_per_process_memory_fraction(fraction, device)


def _load_entry(entry: str) -> Any:
    """Import ``module:function``."""
    module_name, _, attr = entry.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def _check_case(case: Any) -> None:
    """Validate the dict the entry point returned."""
    import torch

    if not isinstance(case, dict):
        raise SmokeFailure(f"the smoke entry point returned {type(case).__name__}, not a dict")
    missing = [key for key in REQUIRED_KEYS if key not in case]
    if missing:
        raise SmokeFailure(f"the smoke dict lacks {', '.join(missing)}")
    if not isinstance(case["model"], torch.nn.Module):
        raise SmokeFailure(f"'model' is a {type(case['model']).__name__}, not an nn.Module")
    inputs = case["inputs"]
    if not isinstance(inputs, (tuple, list)) or not all(
        isinstance(t, torch.Tensor) for t in inputs
    ):
        raise SmokeFailure("'inputs' must be a tuple of tensors")
    if not callable(case["loss_fn"]):
        raise SmokeFailure("'loss_fn' is not callable")


def _output_tensor(output: Any) -> Any:
    """The tensor whose shape is checked: the output, or its first element."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def _gradients(model: Any) -> dict[str, Any]:
    """Which trainable parameters got no, non-finite, or all-zero gradients."""
    import torch

    none, nonfinite, zero, total = [], [], [], 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        total += 1
        grad = param.grad
        if grad is None:
            none.append(name)
        elif not bool(torch.isfinite(grad).all()):
            nonfinite.append(name)
        elif not bool(grad.any()):
            zero.append(name)
    return {"none": none, "nonfinite": nonfinite, "zero": zero, "total": total}


def _class_location(cls: type) -> list[Any] | None:
    """[source file, line] of a class definition, or None."""
    import inspect

    try:
        return [inspect.getsourcefile(cls), inspect.getsourcelines(cls)[1]]
    except (OSError, TypeError):
        return None


def _locations(model: Any, names: list[str]) -> dict[str, list[list[Any]]]:
    """For each named parameter, where the classes of its owning modules are defined.

    Innermost first (``nn.Linear`` in torch, then the project's block holding it, ...,
    the model), so the parent can pick the first one inside the project.
    """
    found: dict[str, list[list[Any]]] = {}
    for name in names[:MAX_NAMES]:
        parts = name.split(".")[:-1]
        chain = []
        for depth in range(len(parts), -1, -1):
            try:
                module = model.get_submodule(".".join(parts[:depth]))
            except AttributeError:
                continue
            location = _class_location(type(module))
            if location is not None:
                chain.append(location)
        found[name] = chain
    return found


def _sync(device: Any) -> None:
    """Wait for the device to finish queued work."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _step(case: dict[str, Any], result: dict[str, Any], result_path: Path, device: Any) -> None:
    """Instrumented forward, loss, backward; fills ``result``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model, inputs = case["model"], tuple(case["inputs"])
    params = list(model.parameters())
    result["model_location"] = _class_location(type(model))
    result["metrics"]["params"] = sum(p.numel() for p in params)
    result["metrics"]["trainable_params"] = sum(p.numel() for p in params if p.requires_grad)
    if inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].dim() > 0:
        result["metrics"]["batch_size"] = int(inputs[0].shape[0])
    _enter(result, result_path, "forward")
    counter = FlopCounterMode(display=False)
    with counter:
        output = model(*inputs)
    result["metrics"]["flops"] = int(counter.get_total_flops())
    tensor = _output_tensor(output)
    result["output_shape"] = list(tensor.shape) if tensor is not None else None
    result["output_type"] = type(output).__name__
    result["expected_output_shape"] = [int(d) for d in case["expected_output_shape"]]
    _enter(result, result_path, "loss")
    loss = case["loss_fn"](output)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise SmokeFailure(f"loss_fn returned {type(loss).__name__}, not a scalar tensor")
    result["loss"] = float(loss.detach().float().item())
    result["loss_finite"] = math.isfinite(result["loss"])
    _enter(result, result_path, "backward")
    loss.backward()
    grads = _gradients(model)
    result["gradients"] = grads
    result["locations"] = _locations(model, grads["none"] + grads["nonfinite"])


def _timed_step(case: dict[str, Any], result: dict[str, Any], device: Any) -> None:
    """A second forward and backward, without the FLOP counter, timed."""
    model = case["model"]
    model.zero_grad(set_to_none=True)
    _sync(device)
    start = time.perf_counter()
    case["loss_fn"](model(*case["inputs"])).backward()
    _sync(device)
    result["metrics"]["step_time_s"] = round(time.perf_counter() - start, 4)


def _peak_memory(result: dict[str, Any], device: Any) -> None:
    """Peak memory: CUDA max allocated, or the process's resident high-water mark."""
    import torch

    if device.type == "cuda":
        result["metrics"]["peak_memory_mb"] = round(
            torch.cuda.max_memory_allocated(device) / 2**20, 1
        )
        result["metrics"]["peak_memory_kind"] = "cuda_max_allocated"
        return
    try:
        import resource

        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["metrics"]["peak_memory_mb"] = round(kib / 1024, 1)
        result["metrics"]["peak_memory_kind"] = "cpu_max_rss"
    except ImportError:  # pragma: no cover - not POSIX
        pass


def run(entry: str, result_path: Path, device_choice: str, memory_limit_mb: int) -> dict[str, Any]:
    """Run the smoke step and return its result (also on failure).

    Args:
        entry: ``module:function`` of the smoke entry point.
        result_path: Where the phase marker goes (next to it).
        device_choice: "auto" (CUDA when available) or "cpu".
        memory_limit_mb: Extra address space allowed on CPU (0: no limit).

    Returns:
        The JSON-ready result.
    """
    result: dict[str, Any] = {"ok": False, "metrics": {}, "phase_seconds": {}}
    try:
        _enter(result, result_path, "import torch")
        import torch

        use_cuda = device_choice == "auto" and torch.cuda.is_available()
        device = torch.device("cuda" if use_cuda else "cpu")
        result["device"] = str(device)
        if not use_cuda and memory_limit_mb > 0:
            _limit_address_space(memory_limit_mb)
        if use_cuda:
            _limit_cuda_memory(device, memory_limit_mb)
        torch.manual_seed(0)
        _enter(result, result_path, "import entry point")
        factory = _load_entry(entry)
        _enter(result, result_path, "build")
        case = factory(device)
        _check_case(case)
        _enter(result, result_path, "step")
        _step(case, result, result_path, device)
        _enter(result, result_path, "timing")
        _timed_step(case, result, device)
        _enter(result, result_path, "done")
        _peak_memory(result, device)
        result["ok"] = True
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        result["error"] = _error(exc)
        if not isinstance(exc, SmokeFailure):
            result["error"]["traceback"] = traceback.format_exc()[-4000:]
        _peak_memory_safe(result)
    result.pop("_phase_start", None)
    return result


def _peak_memory_safe(result: dict[str, Any]) -> None:
    """Record peak memory after a failure, if torch is importable at all."""
    try:
        import torch

        _peak_memory(result, torch.device(result.get("device", "cpu")))
    except Exception:  # noqa: BLE001 - best effort only
        pass


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, write the result file.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        0 when the step ran (whatever it found), 1 when it raised.
    """
    parser = argparse.ArgumentParser(prog="python -m dlgen.validators._smoke_child")
    parser.add_argument("--entry", required=True)
    parser.add_argument("--result", required=True, type=Path)
    parser.add_argument("--device", choices=("auto", "cpu"), default="auto")
    parser.add_argument("--memory-limit-mb", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(args.entry, args.result, args.device, args.memory_limit_mb)
    tmp = args.result.with_suffix(".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, args.result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
