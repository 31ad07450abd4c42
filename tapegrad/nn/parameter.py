"""``nn.Parameter``: a leaf tensor that a Module registers as a parameter."""

from __future__ import annotations

from .. import _shared_memory
from .._tensor import Tensor, _Version


class Parameter(Tensor):
    """A tensor that is a module parameter (``torch.nn.Parameter``); requires grad by default.

    Args:
        data: The tensor to wrap (default: an empty one).
        requires_grad: Whether it requires grad.
    """

    _is_param = True

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        self._data = data._data
        self._requires_grad = False
        self.grad_fn = None
        self._output_nr = 0
        self._grad = None
        self._version_counter = _Version()
        if requires_grad:
            self.requires_grad_(True)

    def __new__(cls, data=None, requires_grad=True):
        return object.__new__(cls)

    def __reduce_ex__(self, proto):
        shared = _shared_memory.reduce_args(self._data)
        if shared is not None:  # another process maps the same memory (Hogwild)
            return (_rebuild_shared_parameter, (shared, self._requires_grad))
        return (_rebuild_parameter, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            p._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = p
        return p


def _rebuild_parameter(array, requires_grad):
    return Parameter(Tensor._make(array), requires_grad)


def _rebuild_shared_parameter(shared, requires_grad):
    return _rebuild_parameter(_shared_memory.rebuild(*shared), requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a module buffer (``torch.nn.Buffer``).

    Called as ``Buffer(data=None, *, persistent=True)``: ``data`` is the tensor to use (``None``
    gives an empty tensor); ``persistent`` says whether the buffer is part of the module's
    ``state_dict``.
    """

    def __new__(cls, data=None, *, persistent: bool = True):
        t = object.__new__(Tensor)
        Tensor.__init_from__(t, data._data if data is not None else Tensor._make([])._data)
        t.__dict__["_buffer_persistent"] = persistent
        return t


class _UninitializedMixin:
    """Shared by the placeholders of lazy modules: no shape until ``materialize``."""

    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the placeholder an (uninitialised) array of ``shape`` and become a regular
        parameter or tensor (``UninitializedParameter.materialize``)."""
        from ..ops.creation import empty

        dtype = self.dtype if dtype is None else dtype
        self._data = empty(tuple(shape), dtype=dtype)._data
        self._version_counter.v += 1
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A parameter whose shape a lazy module infers on its first call
    (``nn.UninitializedParameter``).

    Args:
        requires_grad: Whether it requires grad.
        device: The device.
        dtype: The dtype.
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        from ..ops.creation import empty

        super().__init__(empty(0, dtype=dtype, device=device), requires_grad)

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return object.__new__(cls)

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, dtype=self.dtype)
        return memo[id(self)]


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer whose shape a lazy module infers on its first call
    (``nn.UninitializedBuffer``).

    Args:
        requires_grad: Whether it requires grad.
        device: The device.
        dtype: The dtype.
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        from ..ops.creation import empty

        t = object.__new__(cls)
        Tensor.__init_from__(t, empty(0, dtype=dtype, device=device)._data, requires_grad)
        return t

    def __init__(self, requires_grad: bool = False, device=None, dtype=None) -> None:
        pass


def is_lazy(param) -> bool:
    """Whether ``param`` is an uninitialised placeholder (``torch.nn.parameter.is_lazy``)."""
    return isinstance(param, _UninitializedMixin)
