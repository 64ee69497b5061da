"""Reports print each sentence whole, on one line, into a pipe, and as written (docs/reference/cli.md,
"Reports and sentences"): `grep` finds a failing control's name or a problem's `file:line:column` with
the rest of its line. Real processes on a real SQLite file, stdout and stderr a pipe, `COLUMNS` unset.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli import init, opsdesk
from tests.samples import SHOP

NO_WIDTH = {"COLUMNS": "", "OPSDESK_SHOPIFY_ACCESS_TOKEN": ""}


def test_check_prints_each_title_and_the_summary_whole_on_one_line_into_a_pipe(tmp_path: Path) -> None:
    init(tmp_path)
    result = opsdesk("check", "--no-probe", cwd=tmp_path, env=NO_WIDTH)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "pass  delayed-fulfilment-follow-ups: Delayed fulfilment triggers follow-ups automatically" in lines
    assert lines[-1] == (
        "5 of 12 controls pass; failing: inventory-synced, returns-policy-accessible, support-can-read-orders, "
        "fraud-rules-reviewed, packaging-stocked, site-speed-monitored, webhooks-reconciled"
    ), result.stdout


def test_policy_check_prints_each_problem_whole_and_as_written(tmp_path: Path) -> None:
    init(tmp_path)
    refunds = tmp_path / "playbooks" / "refunds.yaml"
    text = refunds.read_text()
    refunds.write_text(text.replace("when: [return.requested]", 'when: ["[bold]return.requestd"]', 1))
    result = opsdesk("policy", "check", cwd=tmp_path, env=NO_WIDTH)
    assert result.returncode == 1
    problem = next(line for line in result.stderr.splitlines() if "refunds.yaml:" in line)
    assert problem.startswith(f"{refunds}:12:12: unknown event '[bold]return.requestd' (known: "), result.stderr
    assert problem.endswith(", return.updated, risk.assessed)"), result.stderr


def test_a_configuration_error_is_one_line_as_written(tmp_path: Path) -> None:
    init(tmp_path)
    config = tmp_path / "opsdesk.yaml"
    config.write_text(config.read_text().replace("timezone: America/New_York", "timezone: '[bold]America/Gotham'", 1))
    result = opsdesk("users", "list", cwd=tmp_path, env=NO_WIDTH)
    assert result.returncode == 2
    assert "  opsdesk.yaml:17:15: shops.0.timezone: Value error, unknown time zone '[bold]America/Gotham': use an " \
        "IANA name such as 'Europe/London'" in result.stderr.splitlines(), result.stderr


def test_a_privacy_report_is_one_line_into_a_pipe(tmp_path: Path) -> None:
    init(tmp_path)
    result = opsdesk("privacy", "export", "--shop", SHOP, "--customer", "1", cwd=tmp_path, env=NO_WIDTH)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"customer_data_request for {SHOP}: 0 fields; rows by table: nothing stored"
    ), result.stdout
