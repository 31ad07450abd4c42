"""The hook-based spectral normalisation of older PyTorch code
(``torch.nn.utils.spectral_norm``; ``parametrizations.spectral_norm`` is the newer form).
The trained weight is ``<name>_orig``, the power-iteration vectors are the buffers
``<name>_u`` and ``<name>_v``."""

from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops import linalg
from .. import functional as F
from ..modules.module import Module
from ..parameter import Parameter
from .parametrizations import _output_channel_dim

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


class SpectralNorm:
    """The forward pre-hook that sets ``<name> = <name>_orig / sigma`` before each call
    (``torch.nn.utils.spectral_norm.SpectralNorm``)."""

    _version = 1

    def __init__(
        self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        weight_mat = weight
        if self.dim != 0:
            weight_mat = weight_mat.permute(
                self.dim, *[d for d in range(weight_mat.dim()) if d != self.dim]
            )
        height = weight_mat.size(0)
        return weight_mat.reshape(height, -1)

    def compute_weight(self, module: Module, do_power_iteration: bool):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            # In place: the buffers must keep their identity (module replicas share them).
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(F.normalize(linalg.mv(weight_mat.t(), u), dim=0, eps=self.eps))
                    u.copy_(F.normalize(linalg.mv(weight_mat, v), dim=0, eps=self.eps))
                # Clones, so that the next iteration's in-place update leaves this graph's
                # saved u and v intact.
                u = u.clone()
                v = v.clone()
        sigma = linalg.dot(u, linalg.mv(weight_mat, v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with no_grad():
            weight_mat = fn.reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            # Random starting vectors, normalised (the stream is PyTorch's).
            u = F.normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=fn.eps)
            v = F.normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # A plain attribute until the first forward recomputes it.
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its spectral norm before every forward
    (``torch.nn.utils.spectral_norm``).

    Args:
        module: the module to change.
        name: the weight to normalise.
        n_power_iterations: power iterations per forward in training mode.
        eps: added to norms to avoid dividing by zero.
        dim: the dimension of output channels (1 for ConvTranspose, else 0 by default).

    Returns:
        The module.
    """
    if dim is None:
        dim = _output_channel_dim(module)
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`spectral_norm` (``torch.nn.utils.remove_spectral_norm``).

    Args:
        module: the module that has spectral norm applied.
        name: the name of the normalised parameter.

    Returns:
        ``module``, modified in place.

    Raises:
        ValueError: ``module.<name>`` has no spectral norm.
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    return module
