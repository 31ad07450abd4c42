"""``LazyModuleMixin``: layers whose parameter shapes are inferred from the first input."""

from __future__ import annotations

import itertools

from ...autograd.grad_mode import no_grad
from ..parameter import is_lazy


class LazyModuleMixin:
    """Infer the shapes of uninitialised parameters on the first call, then turn into
    ``cls_to_become`` (``torch.nn.modules.lazy.LazyModuleMixin``).

    Subclasses implement ``initialize_parameters(*args)``, which materialises the
    placeholders and resets them with the regular layer's initialisation.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self.register_load_state_dict_pre_hook(LazyModuleMixin._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(
            LazyModuleMixin._infer_parameters, with_kwargs=True
        )

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        # Placeholders are saved as they are, so a lazy module's state_dict round-trips.
        for name, param in self._parameters.items():
            if param is not None:
                lazy = is_lazy(param) or keep_vars
                destination[prefix + name] = param if lazy else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                lazy = is_lazy(buf) or keep_vars
                destination[prefix + name] = buf if lazy else buf.detach()

    @staticmethod
    def _lazy_load_hook(
        module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errors
    ) -> None:
        # Loading real values into placeholders gives them the checkpoint's shapes.
        for name, param in itertools.chain(module._parameters.items(), module._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None and is_lazy(param):
                value = state_dict[key]
                if not is_lazy(value):
                    with no_grad():
                        param.materialize(value.shape)

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still a placeholder."""
        tensors = itertools.chain(self._parameters.values(), self._buffers.values())
        return any(is_lazy(t) for t in tensors if t is not None)

    @staticmethod
    def _infer_parameters(module, args, kwargs=None) -> None:
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook
        del module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become
