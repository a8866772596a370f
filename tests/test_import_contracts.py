"""The architecture contracts in pyproject.toml (`[tool.importlinter]`, `make imports`) hold,
and fail on the imports they forbid (issue 13, item 5)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("core", "hub", "agencies", "referrals", "consent", "sharing_policies", "audit")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_contracts_hold():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "sharing_policies/decision.py",
            "from django.db import models",
            "The pure rules import no Django and no DRF",
        ),
        (
            "sharing_policies/naming.py",
            "import rest_framework",
            "The pure rules import no Django and no DRF",
        ),
        (
            "sharing_policies/decision.py",
            "from referrals import states",
            "The disclosure decision depends on nothing of the hub but its vocabulary",
        ),
        (
            "core/pagination.py",
            "from referrals import models",
            "core is the leaf: it imports none of the hub's apps",
        ),
        (
            "agencies/services.py",
            "from audit import services",
            "agencies (who acts) depends on no other app, only on core",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    source = tmp_path / module
    source.write_text(f"{line}  # noqa\n{source.read_text()}")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout
