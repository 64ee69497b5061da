"""A rule's email names a template the desk can write: a typo is refused by `policy check` where it is
written, not found when every email of the rule fails in the outbox."""

from __future__ import annotations

from pathlib import Path

from opsdesk.connectors.email_templates import TEMPLATES
from opsdesk.domain.outbox import EMAIL_TEMPLATES
from opsdesk.policy import loader

RULE = """\
playbook: refunds
owner: team:support
rules:
  - id: small
    when: [return.requested]
    then:
      - {type: refund}
      - {type: email, template: TEMPLATE}
"""
KNOWN = ("address_confirm, carrier_delay_notice, carrier_needs_buyer, delayed_fulfilment, follow_up_delayed, generic, "
         "refund_confirmation, return_in_hand, return_label_in_hand")


def problems(tmp_path: Path, template: str) -> list[str]:
    path = tmp_path / "refunds.yaml"
    path.write_text(RULE.replace("TEMPLATE", template))
    return [str(p) for p in loader.check([path])[1]]


def test_an_unknown_email_template_is_reported_where_it_is_written(tmp_path: Path) -> None:
    assert problems(tmp_path, "refund_confirmaton") == [
        f"{tmp_path / 'refunds.yaml'}:8:33: unknown email template 'refund_confirmaton' (known: {KNOWN})"
    ]


def test_every_template_the_email_connector_writes_for_customers_loads(tmp_path: Path) -> None:
    for name in sorted(TEMPLATES.keys() - {"desk_digest"}):
        assert problems(tmp_path, name) == []
    assert problems(tmp_path, "desk_digest") != []  # the desk's own digests, not a customer's email
    assert TEMPLATES.keys() - {"desk_digest"} == EMAIL_TEMPLATES


def test_a_template_that_is_no_name_is_reported_not_raised(tmp_path: Path) -> None:
    assert problems(tmp_path, "[refund_confirmation]") == [
        f"{tmp_path / 'refunds.yaml'}:8:33: unknown email template ['refund_confirmation'] (known: {KNOWN})"
    ]


def test_an_unknown_premise_is_reported_where_it_is_written_and_a_known_one_loads(tmp_path: Path) -> None:
    # the send's last look withdraws an email by its premise (ADR 0068, session 15 (2)): a typo would never withdraw it
    assert problems(tmp_path, "generic, message: hi, premise: unshiped") == [
        f"{tmp_path / 'refunds.yaml'}:8:64: unknown email premise 'unshiped' "
        "(known: address, buyer_action, carrier_delay, unshipped)"
    ]
    assert problems(tmp_path, "generic, message: hi, premise: unshipped") == []
