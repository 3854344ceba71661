"""Package discovery with the design card's folder mapping (see DESIGN.md "Layout")."""

from setuptools import find_packages, setup

MAPPED = {"logwarden.shippers": "shippers", "logwarden.pipelines": "pipelines"}

packages = find_packages(include=["logwarden", "logwarden.*"])
for name, folder in MAPPED.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=MAPPED)
