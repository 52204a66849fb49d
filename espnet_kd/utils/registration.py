"""Finding the modules of a package that register a component, so that adding one is one file.

A selection method (``@register_selector``) or a QE scorer (``@register_qe_scorer``) registers
itself when its module is imported. :func:`import_registering_modules` imports every module of a
package whose source carries the decorator, so a new method in a new file of ``espnet_kd/select/``
is known without an import line elsewhere. Modules are found by reading their text, not by
importing them all, so the package's other modules (and what they import) stay unloaded.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Iterable, List


def registering_modules(package_name: str, package_paths: Iterable[str], decorator: str) -> List[str]:
    """The full names of the package's modules whose source has a line starting ``@<decorator>``, by name."""
    pattern = re.compile(rf"^@{re.escape(decorator)}\b", flags=re.MULTILINE)
    names = []
    for module in pkgutil.iter_modules(list(package_paths)):
        if module.ispkg:
            continue
        source = Path(module.module_finder.path, f"{module.name}.py")  # type: ignore[union-attr]
        if source.is_file() and pattern.search(source.read_text(encoding="utf-8")):
            names.append(f"{package_name}.{module.name}")
    return sorted(names)


def import_registering_modules(package_name: str, package_paths: Iterable[str], decorator: str) -> List[str]:
    """Import every module :func:`registering_modules` finds (each registers its components); their names."""
    names = registering_modules(package_name, package_paths, decorator)
    for name in names:
        importlib.import_module(name)
    return names
