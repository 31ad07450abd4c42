"""Pretrained weights and model repositories (mirrors ``torch.hub``), offline-first.

``load_state_dict_from_url`` reads the file from the hub cache (``get_dir()/checkpoints``,
the place PyTorch uses, so weights PyTorch downloaded are found) and downloads it there
only when it is missing; without a network the error says where to put the file.
``load`` runs a repository's ``hubconf.py`` from a local directory
(``source="local"``) or from the hub cache; tapegrad never fetches code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

__all__ = [
    "download_url_to_file",
    "get_dir",
    "help",
    "list",
    "load",
    "load_state_dict_from_url",
    "set_dir",
]

_hub_dir: str | None = None
_HASH_PREFIX = re.compile(r"-([a-f0-9]*)\.")


def get_dir() -> str:
    """The hub cache directory (``torch.hub.get_dir``): ``$TORCH_HOME/hub``, by default
    ``~/.cache/torch/hub``, shared with PyTorch.

    Returns:
        The hub cache directory.
    """
    if _hub_dir is not None:
        return _hub_dir
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))
    return os.path.join(os.path.expanduser(torch_home), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub cache directory (``torch.hub.set_dir``).

    Args:
        d: The new hub directory.
    """
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def download_url_to_file(
    url: str, dst: str, hash_prefix: str | None = None, progress: bool = True
) -> None:
    """Download ``url`` to ``dst`` (``torch.hub.download_url_to_file``), atomically; with
    ``hash_prefix``, the file's SHA-256 must start with it. A network failure raises
    ``RuntimeError`` saying where to put the file by hand.

    Args:
        url: The file's URL.
        dst: Where to write it.
        hash_prefix: If given, the start of the file's SHA-256 (hex).
        progress: Show a progress bar.

    Raises:
        RuntimeError: If the download fails or the hash does not match.
    """
    dst = os.path.expanduser(dst)
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{dst}.{os.getpid()}.partial"
    digest = hashlib.sha256()
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "tapegrad"})
        with urllib.request.urlopen(request, timeout=60) as response, open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if hash_prefix is not None and not digest.hexdigest().startswith(hash_prefix):
            raise RuntimeError(
                f'invalid hash value (expected "{hash_prefix}", got "{digest.hexdigest()}")'
            )
        os.replace(tmp, dst)
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(
            f"could not download {url} ({e}); without a network, download it elsewhere "
            f"and put it at {dst}"
        ) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(
    url: str,
    model_dir: str | None = None,
    map_location=None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = True,
) -> dict[str, Any]:
    """The state dict at ``url``, from the hub cache or downloaded into it
    (``torch.hub.load_state_dict_from_url``).

    Args:
        url: The file's URL.
        model_dir: The cache directory (default: ``get_dir()/checkpoints``).
        map_location: As for ``tapegrad.load``.
        progress: Show a progress bar.
        check_hash: Check the file's SHA-256 against the hash prefix in its name
            (``name-<hash>.ext``).
        file_name: The name to save the file under (default: the URL's).
        weights_only: As for ``tapegrad.load``.

    Returns:
        The loaded object (usually a state dict).
    """
    from .serialization import load as _load

    model_dir = model_dir or os.path.join(get_dir(), "checkpoints")
    filename = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        match = _HASH_PREFIX.search(filename) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None, progress)
    return _load(cached, map_location=map_location, weights_only=weights_only)


def _repo_dir(repo_or_dir: str, source: str) -> Path:
    if source == "local":
        path = Path(os.path.expanduser(repo_or_dir))
        if not (path / "hubconf.py").is_file():
            raise FileNotFoundError(f"no hubconf.py in {path} (torch.hub.load source='local')")
        return path
    if source != "github":
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    owner_name, _, ref = repo_or_dir.partition(":")
    owner, _, name = owner_name.partition("/")
    hub = Path(get_dir())
    candidates = sorted(hub.glob(f"{owner}_{name}_{ref or '*'}"))
    for path in candidates:
        if (path / "hubconf.py").is_file():
            return path
    raise RuntimeError(
        f"torch.hub: tapegrad does not download code; {repo_or_dir} is not in the hub cache "
        f"({hub}). Clone the repository and call torch.hub.load(DIR, model, source='local')"
    )


def _hubconf(repo_or_dir: str, source: str):
    path = _repo_dir(repo_or_dir, source)
    spec = importlib.util.spec_from_file_location(f"hubconf_{abs(hash(path))}", path / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path))
    return module


def list(  # noqa: A001 - mirrors torch.hub.list
    github: str, force_reload: bool = False, skip_validation: bool = False,
    trust_repo=None, verbose: bool = True, source: str = "github",
) -> list[str]:  # fmt: skip
    """The entry points of a repository's ``hubconf.py`` (``torch.hub.list``).

    Args:
        github: ``owner/repo[:ref]``, found in the hub cache, or a directory with
            ``source='local'``.
        force_reload: Accepted for PyTorch's signature (nothing is downloaded).
        skip_validation: Accepted for PyTorch's signature.
        trust_repo: Accepted for PyTorch's signature (tapegrad runs only code already on disk).
        verbose: Accepted for PyTorch's signature.
        source: ``'github'`` (the hub cache) or ``'local'`` (a directory).

    Returns:
        The names of the entry points.
    """
    module = _hubconf(github, source)
    return [n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")]


def help(  # noqa: A001 - mirrors torch.hub.help
    github: str, model: str, force_reload: bool = False, skip_validation: bool = False,
    trust_repo=None, source: str = "github",
) -> str | None:  # fmt: skip
    """The docstring of an entry point (``torch.hub.help``).

    Args:
        github: ``owner/repo[:ref]``, found in the hub cache, or a directory with
            ``source='local'``.
        model: The entry point's name.
        force_reload: Accepted for PyTorch's signature (nothing is downloaded).
        skip_validation: Accepted for PyTorch's signature.
        trust_repo: Accepted for PyTorch's signature (tapegrad runs only code already on disk).
        source: ``'github'`` (the hub cache) or ``'local'`` (a directory).

    Returns:
        The entry point's docstring.
    """
    return getattr(_hubconf(github, source), model).__doc__


def load(
    repo_or_dir: str, model: str, *args, source: str = "github", trust_repo=None,
    force_reload: bool = False, verbose: bool = True, skip_validation: bool = False,
    **kwargs,
) -> Any:  # fmt: skip
    """Call the entry point ``model`` of a repository's ``hubconf.py`` (``torch.hub.load``)
    from a local directory or the hub cache; tapegrad never downloads code.

    Args:
        repo_or_dir: ``owner/repo[:ref]`` in the hub cache, or a directory with
            ``source='local'``.
        model: The entry point's name.
        *args: Positional arguments of the entry point.
        source: ``'github'`` (the hub cache) or ``'local'`` (a directory).
        trust_repo: Accepted for PyTorch's signature (tapegrad runs only code already on disk).
        force_reload: Accepted for PyTorch's signature (nothing is downloaded).
        verbose: Accepted for PyTorch's signature.
        skip_validation: Accepted for PyTorch's signature.
        **kwargs: Keyword arguments of the entry point.

    Returns:
        What the entry point returns.
    """
    module = _hubconf(repo_or_dir, source)
    entry = getattr(module, model, None)
    if not callable(entry):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return entry(*args, **kwargs)
