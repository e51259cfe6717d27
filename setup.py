"""Why a setup.py beside pyproject.toml: the shipped weights and samples stay in the top-level
`resources/` folder of the repository and install as the package `lacuna_resources` (a package-dir
mapping). pyproject's `packages.find` cannot add a mapped package beside the ones it finds; everything
else (metadata, dependencies, package data) lives in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["core*", "desktop*"]), "lacuna_resources"],
    package_dir={"lacuna_resources": "resources"},
)
