"""The architecture contracts in pyproject.toml (`[tool.importlinter]`, `make imports`) hold,
and fail on the imports they forbid (issue 13, item 5)."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("core", "hub", "agencies", "referrals", "consent", "sharing_policies", "audit")
LAYERS = "Layers: entry points, HTTP, use cases, domains, pure rules"


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
        # A domain reaching up: into a use case, a view, the web pages, or a domain above it.
        ("referrals/services.py", "from referrals import use_cases", LAYERS),
        ("audit/services.py", "from audit import views", LAYERS),
        ("consent/use_cases.py", "from hub import pages", LAYERS),
        ("referrals/models.py", "from consent import models", LAYERS),
        ("sharing_policies/models.py", "from audit import models", LAYERS),
        ("referrals/representation.py", "from sharing_policies import selectors", LAYERS),
        ("core/vocabulary.py", "from sharing_policies import naming", LAYERS),
        # The views are the HTTP layer: they never import the web pages.
        ("audit/views.py", "from hub import transparency", LAYERS),
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


def modules_of(package: str) -> set[str]:
    """Every module of a package, by dotted name (migrations and package markers aside)."""
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and path.name != "__init__.py"
    }


def test_every_module_of_every_app_is_in_a_layer():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = (c["layers"] for c in contracts["contracts"] if c["name"] == LAYERS)
    named = {name.strip() for layer in layers for name in layer.split(":")}

    def is_named(module: str) -> bool:
        parts = module.split(".")
        return any(".".join(parts[:n]) in named for n in range(1, len(parts) + 1))

    modules = set().union(*(modules_of(package) for package in PACKAGES))
    assert sorted(m for m in modules if not is_named(m)) == []
