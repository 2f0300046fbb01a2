"""Builds gemforge_autocomp with its start-up file: gemforge_autocomp.pth goes to the top of the wheel, so
pip puts it into site-packages, where Python runs its one import line at start-up (it registers the hook
that makes Autocomp's `simulator = "gemforge"` work; see gemforge_autocomp/hook.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPth(build_py):
    def run(self):
        super().run()
        here = Path(__file__).resolve().parent
        shutil.copy(here / "gemforge_autocomp.pth", Path(self.build_lib) / "gemforge_autocomp.pth")


setup(cmdclass={"build_py": BuildWithPth})
