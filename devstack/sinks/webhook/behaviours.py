"""Which deliveries the receiver fails or stalls: rules chosen by URL-path prefix or webhook-id prefix, each for
a number of deliveries or until cleared. Used from the receiver's one event loop only, so it needs no lock."""

from __future__ import annotations

from dataclasses import dataclass

SUCCESS_STATUS = 204


@dataclass
class Rule:
    """Answer a matching delivery with ``status`` after ``delay_seconds``, ``remaining`` more times (None:
    until cleared). A rule matches on ``path_prefix`` or ``webhook_id_prefix``, whichever is set."""

    status: int
    delay_seconds: float = 0.0
    path_prefix: str | None = None
    webhook_id_prefix: str | None = None
    remaining: int | None = None

    def matches(self, path: str, webhook_id: str) -> bool:
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        return self.webhook_id_prefix is None or webhook_id.startswith(self.webhook_id_prefix)


@dataclass(frozen=True)
class Answer:
    """What the receiver does with one delivery: wait ``delay_seconds``, then answer ``status``."""

    status: int = SUCCESS_STATUS
    delay_seconds: float = 0.0


class Behaviours:
    """The rules, oldest first: the first that matches a delivery decides its answer."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []

    def add(self, rule: Rule) -> None:
        """Apply ``rule`` from now on."""
        self._rules.append(rule)

    def rules(self) -> list[Rule]:
        """The rules still in force."""
        return list(self._rules)

    def clear(self, path_prefix: str | None = None) -> None:
        """Drop the rules of ``path_prefix`` (None: every rule): those deliveries are answered 204 at once again."""
        self._rules = [rule for rule in self._rules if path_prefix is not None and rule.path_prefix != path_prefix]

    def answer(self, path: str, webhook_id: str) -> Answer:
        """How to answer this delivery, counting it against a limited rule."""
        for rule in self._rules:
            if not rule.matches(path, webhook_id):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            return Answer(rule.status, rule.delay_seconds)
        return Answer()
