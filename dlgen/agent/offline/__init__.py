"""The offline analyzer backend: deterministic, bilingual, no network.

``analyze_offline(request)`` turns a Chinese or English request into an
:class:`~dlgen.agent.analysis.Analysis`; see :mod:`.analyzer` for the steps.
"""

from dlgen.agent.offline.analyzer import analyze_offline

__all__ = ["analyze_offline"]
