"""Neural-network building blocks (``torch.nn``): modules, losses, ``functional``,
``init`` and ``utils``."""

from . import functional, init
from .modules import *
from .parameter import Buffer, Parameter
