"""Tables of features, one module per feature (imported here so the model registry finds them all)."""

from __future__ import annotations

import importlib
import pkgutil

# The registry imports modules named `models`; this package is one, so it brings in each feature's module.
for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
