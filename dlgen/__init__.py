"""dlgen: turn a deep-learning request into a complete, runnable, verified PyTorch project.

>>> from dlgen import analyze, generate
>>> spec = analyze("实现ViT用于ImageNet")
>>> result = generate(spec, "vit_imagenet")
"""

from dlgen.api import GenerateResult, analyze, analyze_detailed, generate, validate
from dlgen.spec import Spec
from dlgen.version import __version__

__all__ = [
    "GenerateResult",
    "Spec",
    "__version__",
    "analyze",
    "analyze_detailed",
    "generate",
    "validate",
]
