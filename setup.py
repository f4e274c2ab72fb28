"""Package layout only; everything else (metadata, dependencies, entry points) is in pyproject.toml.

``resources/`` and ``luts/`` stay at the top of the repository and ship inside the ``app`` package as
``app.resources`` and ``app.luts`` (read through importlib.resources, see app/package_data.py). pyproject's
``packages.find`` cannot map a folder to a package name, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["app", "app.*", "engine", "engine.*", "ui", "ui.*"])
    + ["app.resources", "app.luts"],
    package_dir={"app.resources": "resources", "app.luts": "luts"},
    package_data={
        "app.resources": ["README.md", "style/**/*.qss", "export_presets/**/*.json", "fonts/**/*"],
        "app.luts": ["README.md", "*.cube"],
    },
)
