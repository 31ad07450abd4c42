"""``nn.Parameter``: a leaf tensor that a Module registers as a parameter."""

from __future__ import annotations

from .._tensor import Tensor, _Version


class Parameter(Tensor):
    """A tensor that is a module parameter (``torch.nn.Parameter``); requires grad by default."""

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


class Buffer(Tensor):
    """Marks a tensor to be registered as a module buffer (``torch.nn.Buffer``)."""

    def __new__(cls, data=None, *, persistent: bool = True):
        t = object.__new__(Tensor)
        Tensor.__init_from__(t, data._data if data is not None else Tensor._make([])._data)
        t.__dict__["_buffer_persistent"] = persistent
        return t
