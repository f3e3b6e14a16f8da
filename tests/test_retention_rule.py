"""The partnership's retention rule from the policy file, and RETENTION_AFTER_CLOSE over it."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.policy_files import PolicyFileError, load_policies
from core.retention import load_retention
from tests.conftest import isolated_settings

CLOSED = datetime(2026, 3, 1, 12, tzinfo=UTC)
RULES = """
[policies.education]
title = "Schools"
[[policies.education.stages]]
name = "Heads"
role = "manager"
working_days = 5

[retention]
after_close = "P35Y"

[retention.ladders.education]
until_age = 25
after_close = "P6Y"
"""


def test_the_partnership_rule_and_a_ladders_own(tmp_path: Path) -> None:
    policy_file = tmp_path / "policies.toml"
    policy_file.write_text(RULES)
    assert "education" in load_policies(policy_file)  # the ladders still load beside it
    retention = load_retention(isolated_settings(policy_file=policy_file))

    assert retention.rule("standard").ends(CLOSED, None) == CLOSED + timedelta(days=35 * 365)
    school = retention.rule("education")
    assert school.ends(CLOSED, date(2015, 4, 2)) == datetime(2040, 4, 2, tzinfo=UTC)
    assert school.ends(CLOSED, date(2000, 1, 1)) == CLOSED  # 25 already: ends once closed
    assert school.ends(CLOSED, date(2016, 2, 29)) == datetime(2041, 3, 1, tzinfo=UTC)
    assert school.ends(CLOSED, None) == CLOSED + timedelta(days=6 * 365)
    assert (
        school.describe() == "to the child's 25th birthday when known, else 6 years after closure"
    )


def test_no_rule_keeps_everything_and_the_setting_overrides(tmp_path: Path) -> None:
    assert load_retention(isolated_settings()).rule("standard").ends(CLOSED, None) is None
    policy_file = tmp_path / "policies.toml"
    policy_file.write_text(RULES)
    quick = load_retention(isolated_settings(policy_file=policy_file, retention_after_close="PT5S"))
    assert quick.rule("education").ends(CLOSED, date(2015, 4, 2)) == CLOSED + timedelta(seconds=5)


def test_a_wrong_rule_is_named(tmp_path: Path) -> None:
    policy_file = tmp_path / "policies.toml"
    policy_file.write_text(RULES.replace('after_close = "P35Y"', 'after_close = "soon"'))
    with pytest.raises(PolicyFileError, match=r"retention, field 'after_close'"):
        load_retention(isolated_settings(policy_file=policy_file))
    policy_file.write_text(RULES.replace("until_age = 25", "until_age = 25\nkeep = true"))
    with pytest.raises(PolicyFileError, match=r"retention, field 'ladders.education.keep'"):
        load_retention(isolated_settings(policy_file=policy_file))
