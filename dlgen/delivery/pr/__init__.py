"""The pull-request bot: a request in a GitHub issue becomes a PR with a verified project.

``open_pull_request`` is the entry point; ``dlgen.delivery.pr.cli.pr_command`` is
the ``dlgen pr`` command.
"""

from dlgen.delivery.pr.bot import PrHooks, PrOptions, PrResult, open_pull_request
from dlgen.delivery.pr.request import BotRequest

__all__ = ["BotRequest", "PrHooks", "PrOptions", "PrResult", "open_pull_request"]
