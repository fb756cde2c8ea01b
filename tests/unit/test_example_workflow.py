"""The example CI workflow runs the `ci` game day and publishes its report, whatever the verdict.
(It is linted with scripts/lint-workflows.sh; only GitHub Actions can run it.)"""

from __future__ import annotations

from pathlib import Path

import yaml

from doorbuster.gameday.profile import available_gamedays

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "examples" / "github-actions-gameday.yml"


def test_the_example_workflow_gates_on_the_ci_game_day_and_publishes_its_report() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["gameday"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "python3 -m pip install -e ." in runs
    gameday = next(r for r in runs if r.startswith("doorbuster gameday "))
    assert gameday.split()[2] in available_gamedays() and gameday.split()[2] == "ci"
    published = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert published and published[0]["if"] == "always()"  # a NO-GO report is the one people need
    paths = published[0]["with"]["path"]
    assert "runs/ci/report.html" in paths and "runs/ci/junit.xml" in paths
