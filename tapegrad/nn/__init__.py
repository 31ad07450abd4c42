"""Neural-network building blocks (``torch.nn``): modules, losses, ``functional``,
``init`` and ``utils``."""

import importlib as _importlib

from . import functional, init, parallel
from .modules import *
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

# Not ``from . import utils``: the star import above may already bind ``utils`` to
# ``modules.utils``, and the package must win.
utils = _importlib.import_module(".utils", __name__)
