"""A good playbook, the starter playbooks, and a playbook written to a file and checked."""

from __future__ import annotations

from pathlib import Path

from opsdesk.policy import loader

STARTER = Path(__file__).resolve().parents[2] / "src" / "opsdesk" / "starter" / "playbooks"

GOOD = """\
playbook: refunds
owner: team:support
rules:
  - id: small
    when: [return.requested]
    if: event.simple_purchase_error && event.amount <= 50.0
    guardrails:
      - {per: customer, period: 30d, max_count: 2}
    then:
      - {type: refund}
  - id: rest
    when: return.requested
    escalate: {queue: refunds}
"""


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    _, found = loader.check([write(tmp_path, text)])
    return [str(p) for p in found]
