"""Why a setup.py beside pyproject.toml: the shipped weights and samples stay in the top-level
`resources/` folder of the repository and install as the package `lacuna_resources` (a package-dir
mapping). pyproject's `packages.find` cannot add a mapped package beside the ones it finds; everything
else (metadata, dependencies, package data) lives in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    # weights/ and samples/ are data folders: listed, so setuptools installs them without a warning
    packages=[
        *find_packages(include=["core*", "desktop*"]),
        "lacuna_resources",
        "lacuna_resources.weights",
        "lacuna_resources.samples",
    ],
    package_dir={"lacuna_resources": "resources"},
)
