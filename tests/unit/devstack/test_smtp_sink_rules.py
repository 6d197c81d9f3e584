"""The dev SMTP sink's failure rules and address convention."""

from devstack.sinks.smtp.mailbox import Failures


def test_a_rule_refuses_its_recipient_the_given_times_then_accepts() -> None:
    failures = Failures()
    failures.add("Ada@Example.com", 451, times=2)
    assert failures.refusal(
        "ada@example.com",
    ).startswith("451 4.")  # type: ignore[union-attr]
    assert failures.refusal("ada@example.com") is not None
    assert failures.refusal("ada@example.com") is None
    assert failures.rules() == {}


def test_a_wildcard_rule_refuses_everyone_until_cleared() -> None:
    failures = Failures()
    failures.add("*", 421, message="4.7.0 too busy")
    assert failures.refusal("x@example.com") == "421 4.7.0 too busy"
    failures.clear()
    assert failures.refusal("x@example.com") is None


def test_bounce_addresses_are_refused_with_their_code() -> None:
    failures = Failures()
    assert failures.refusal("bounce-550@example.com").startswith("550 5.1.1")  # type: ignore[union-attr]
    assert failures.refusal("bounce-452+tag@example.com").startswith("452 ")  # type: ignore[union-attr]
    assert failures.refusal("bounce-abc@example.com") is None
    assert failures.refusal("ada@example.com") is None
