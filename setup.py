"""The one packaging rule pyproject.toml cannot state: which folders are subpackages of `app`.

The wheel installs a single top-level package, `app` (docs/adr/0009-one-top-level-package.md): the Alembic
environment (migrations/) and the first-party plugins (plugins/) are installed as `app.migrations` and
`app.first_party`, so a plugin's or any project's own `migrations/` or `plugins/` folder on sys.path cannot
shadow them. The folders stay where they are in the repository.
"""
from setuptools import find_namespace_packages, setup

SUBPACKAGES = {"app.migrations": "migrations", "app.first_party": "plugins"}

packages = find_namespace_packages(include=["app", "app.*"], exclude=["*__pycache__*"])
for package, folder in SUBPACKAGES.items():
    found = find_namespace_packages(folder, exclude=["*__pycache__*"])
    packages += [package, *(f"{package}.{name}" for name in found)]

setup(packages=packages, package_dir=SUBPACKAGES)
