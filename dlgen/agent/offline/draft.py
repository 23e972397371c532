"""The analyzer's working state: what was read, what was chosen, what was assumed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlgen.agent.offline.intents import Intent
from dlgen.agent.offline.lexicon import Match
from dlgen.agent.offline.messages import say
from dlgen.agent.offline.readers import Reading
from dlgen.catalog.base import ArchitectureFamily, DatasetEntry, Variant


@dataclass
class Draft:
    """Everything the analyzer knows about one request while it builds the Spec.

    Attributes:
        request: The request as written.
        language: "zh" or "en".
        text: The normalized request.
        matches: Catalog terms found in it.
        readings: Values read from it, by slot (numbers and switches).
        intent: The task keyword found, if any.
        family: The chosen family.
        variant: The chosen variant (None for a custom configuration).
        variant_named: Whether the request named the variant.
        dataset: The chosen dataset entry.
        dataset_named: Whether the request named the dataset.
        task: The chosen task.
        model: ``Spec.model`` fields being built.
        data: ``Spec.dataset`` fields being built.
        training: ``Spec.training`` fields being built.
        explicit: Values read literally, by dotted Spec path.
        assumptions: Sentences, in the user's language, for every value filled in.
    """

    request: str
    language: str
    text: str
    matches: list[Match] = field(default_factory=list)
    readings: dict[str, Reading] = field(default_factory=dict)
    intent: Intent | None = None
    family: ArchitectureFamily | None = None
    variant: Variant | None = None
    variant_named: bool = False
    dataset: DatasetEntry | None = None
    dataset_named: bool = False
    task: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    explicit: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)

    def assume(self, message_id: str, **values: Any) -> None:
        """Record an assumption sentence (message ``message_id``) in the user's language."""
        sentence = say(message_id, self.language, **values)
        if sentence not in self.assumptions:
            self.assumptions.append(sentence)

    def name_of(self, names: Any) -> str:
        """A catalog display name in the user's language."""
        return str(names.display(self.language))

    def value(self, slot: str) -> Any:
        """The value read for ``slot``, or None."""
        reading = self.readings.get(slot)
        return reading.value if reading else None
