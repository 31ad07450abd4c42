"""``tapegrad run``: serve ``import torch`` and ``import torchvision`` from tapegrad.

An import hook (a meta-path finder) placed first on ``sys.meta_path`` answers every
``torch``, ``torch.X``, ``torchvision`` and ``torchvision.X`` import with the tapegrad
module of the same role, so an unchanged PyTorch program runs on tapegrad and the real
PyTorch is never loaded, even where it is installed. A module tapegrad lacks raises
``ModuleNotFoundError`` naming the PyTorch module, never a half-working stand-in.

:func:`run_script` runs a program as ``python SCRIPT ARGS...`` would (``sys.argv``,
``sys.path[0]``, ``__main__``, exit status); child Python processes (DataLoader workers
started by spawn, ``subprocess`` calls of ``sys.executable``) inherit the hook through a
``sitecustomize`` directory put on ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import traceback
from types import ModuleType

__all__ = ["install", "uninstall", "installed", "run_module", "run_script", "pytorch_name"]

# PyTorch module -> tapegrad module. The longest matching prefix wins, and what follows it
# is kept: torch.nn.functional -> tapegrad.nn.functional.
ALIASES: dict[str, str] = {
    "torch": "tapegrad",
    "torchvision": "tapegrad.vision",
    "torchvision.datasets": "tapegrad.datasets",
    "torchvision.transforms": "tapegrad.transforms",
    "torchvision.models": "tapegrad.models",
    "torchvision.utils": "tapegrad.vision.utils",
}

# The directory whose sitecustomize.py installs the hook in child processes.
_SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_run_site")
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _target(fullname: str) -> str | None:
    """The tapegrad module that stands in for the PyTorch module ``fullname``, if any."""
    best = None
    for alias in ALIASES:
        if (fullname == alias or fullname.startswith(alias + ".")) and (
            best is None or len(alias) > len(best)
        ):
            best = alias
    if best is None:
        return None
    return ALIASES[best] + fullname[len(best) :]


def pytorch_name(module_name: str) -> str:
    """The PyTorch name of a tapegrad module (``tapegrad.nn`` -> ``torch.nn``)."""
    best = None
    for alias, target in ALIASES.items():
        if (module_name == target or module_name.startswith(target + ".")) and (
            best is None or len(target) > len(ALIASES[best])
        ):
            best = alias
    if best is None:
        return module_name
    return best + module_name[len(ALIASES[best]) :]


class _AliasLoader(importlib.abc.Loader):
    """Hands out an already-imported tapegrad module under its PyTorch name."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        # The tapegrad module ran when it was imported under its own name.
        return None


class TorchFinder(importlib.abc.MetaPathFinder):
    """Answers ``torch`` / ``torchvision`` imports with tapegrad's modules."""

    def find_spec(self, fullname, path=None, target=None):
        name = _target(fullname)
        if name is None:
            return None
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
                raise ModuleNotFoundError(
                    f"No module named '{fullname}': tapegrad does not provide the PyTorch "
                    f"module {fullname} (tapegrad run serves torch and torchvision imports "
                    "from tapegrad)",
                    name=fullname,
                ) from None
            raise
        return importlib.util.spec_from_loader(
            fullname, _AliasLoader(module), is_package=hasattr(module, "__path__")
        )


_finder = TorchFinder()


def installed() -> bool:
    """Whether ``import torch`` is served by tapegrad in this process."""
    return _finder in sys.meta_path


def install() -> None:
    """Serve ``torch``/``torchvision`` imports from tapegrad from now on in this process.

    Raises ``RuntimeError`` if the real PyTorch is loaded already: its tensors and
    tapegrad's cannot be mixed, so the program must start afresh under ``tapegrad run``.
    """
    import tapegrad  # noqa: F401  (installs its own guard first; ours goes before it)

    for name in ("torch", "torchvision"):
        loaded = sys.modules.get(name)
        if loaded is not None and not loaded.__name__.startswith("tapegrad"):
            raise RuntimeError(
                f"the real {name} is already imported in this process; start the program "
                "with `tapegrad run SCRIPT` so that every torch import is served by tapegrad"
            )
    if not installed():
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Undo :func:`install` (the aliases already in ``sys.modules`` are removed too)."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in list(sys.modules):
        if _target(name) is not None and sys.modules[name].__name__.startswith("tapegrad"):
            del sys.modules[name]


def _inherit() -> None:
    # Child Python processes import our sitecustomize first thing, which installs the hook.
    parts = [_SITE_DIR, _PACKAGE_PARENT]
    old = os.environ.get("PYTHONPATH")
    if old:
        parts += [p for p in old.split(os.pathsep) if p not in parts]
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)


def _explain(exc: BaseException) -> None:
    # A missing attribute of a tapegrad module or tensor is a PyTorch API tapegrad lacks:
    # say so in PyTorch's words rather than leave a bare AttributeError.
    import tapegrad

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, AttributeError) and getattr(exc, "name", None):
            obj = getattr(exc, "obj", None)
            api = None
            if isinstance(obj, ModuleType) and obj.__name__.startswith("tapegrad"):
                api = f"{pytorch_name(obj.__name__)}.{exc.name}"
            elif isinstance(obj, tapegrad.Tensor):
                api = f"torch.Tensor.{exc.name}"
            if api is not None:
                exc.add_note(
                    f"tapegrad run: the program uses the PyTorch API {api}, which tapegrad "
                    "does not provide."
                )
        exc = exc.__cause__ or exc.__context__


def _user_traceback(exc: BaseException):
    # Drop the runner's own frames (this file and runpy), as `python SCRIPT` shows none.
    tb = exc.__traceback__
    skip = (__file__, runpy.__file__, "<frozen runpy>")
    while tb is not None and tb.tb_frame.f_code.co_filename in skip:
        tb = tb.tb_next
    return tb


def _run(main, path0: str) -> int:
    # What `python` does around a program: its path entry first (replacing the directory
    # of the `tapegrad` launcher), an uncaught exception printed and exit status 1.
    install()
    _inherit()
    sys.path[0:1] = [path0]
    try:
        main()
    except SystemExit:
        raise
    except Exception as exc:
        _explain(exc)
        sys.stdout.flush()
        traceback.print_exception(type(exc), exc, _user_traceback(exc), file=sys.stderr)
        return 1
    return 0


def run_script(script: str, args: list[str]) -> int:
    """Run ``script`` with ``args`` as ``python script args...`` would, on tapegrad.

    Returns the exit status: 0 at the end, ``SystemExit``'s code, 1 after an uncaught
    exception (its traceback printed on stderr, as Python does).
    """
    if not os.path.exists(script):
        print(f"tapegrad run: can't open file {script!r}: no such file", file=sys.stderr)
        return 2
    sys.argv = [script, *args]
    path = os.path.abspath(script)
    return _run(lambda: runpy.run_path(path, run_name="__main__"), os.path.dirname(path))


def run_module(module: str, args: list[str]) -> int:
    """Run ``module`` as ``python -m module args...`` would, on tapegrad."""
    sys.argv = [module, *args]  # runpy puts the module's file name here, as python does
    # `-m torch.distributed.run` runs tapegrad's module of that name as the main module
    target = _target(module) or module
    return _run(lambda: runpy.run_module(target, run_name="__main__", alter_sys=True), os.getcwd())
