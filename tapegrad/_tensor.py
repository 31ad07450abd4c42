"""The Tensor: an array, its autograd state, and thin methods that call the ops."""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from . import _device, _shared_memory
from . import _dtype as D
from .autograd import function as _fn
from .autograd import grad_mode


class Size(tuple):
    """A tensor shape (``torch.Size``): a tuple that prints like PyTorch's.

    Called as ``Size(iterable=())`` with the sizes of the dimensions, as ints.
    """

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


class _Version:
    """A version counter shared by a tensor and its views."""

    __slots__ = ("v",)

    def __init__(self):
        self.v = 0


# Shared by the operands ops make from Python scalars (``x * 2.0``): no user holds those
# tensors, so autograd needs no version record for them (``_fn._versions_of`` skips it).
_CONST_VERSION = _Version()


class Tensor:
    """An n-dimensional array with autograd (``torch.Tensor``).

    ``_data`` is the backing array (NumPy, or CuPy on a GPU). Views share it
    and its version counter. Behaviour lives in ``tapegrad.ops``; the methods
    here are thin wrappers.

    The constructor is PyTorch's legacy one; ``torch.tensor`` is the usual way to make
    a tensor from data.

    Args:
        *args: sizes (``Tensor(2, 3)`` is uninitialised), one sequence or array of data
            to copy (``Tensor([1, 2])``), or nothing (an empty tensor).
        dtype: the dtype; ``None`` means the default dtype.
        device: accepted for signature compatibility; ignored.
    """

    __slots__ = (
        "_data",
        "_requires_grad",
        "grad_fn",
        "_output_nr",
        "_grad",
        "_vc",
        "__weakref__",
        "__dict__",
    )
    # Rarely set attributes live in the instance __dict__ with these defaults.
    _base = None
    _view_chain = None
    # weak references to the live views of this tensor when it is a base (``_link_view``)
    _views = None
    _hooks = None
    _post_acc_hooks = None
    _acc_ref = None
    _retains_grad = False
    _is_param = False
    __array_priority__ = 1000

    def __init__(self, *args, dtype=None, device=None):
        # The legacy constructor: Tensor(2, 3) is uninitialised, Tensor([1, 2]) copies.
        from .ops import creation

        if not args:
            t = creation.empty(0, dtype=dtype)
        elif len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            src = args[0]
            t = creation.tensor(src, dtype=dtype or D.get_default_dtype())
        else:
            t = creation.empty(*args, dtype=dtype)
        self._data = t._data
        self._requires_grad = False
        self.grad_fn = None
        self._output_nr = 0
        self._grad = None
        self._version_counter = _Version()

    @staticmethod
    def _make(array) -> Tensor:
        """Wrap an array without copying (the fast constructor ops use)."""
        t = object.__new__(Tensor)
        if type(array) is not np.ndarray:
            array = np.asarray(array)
        t._data = array
        t._requires_grad = False
        t.grad_fn = None
        t._output_nr = 0
        t._grad = None
        return t

    # The version counter is made on first use: most tensors are never changed in place
    # nor saved for backward, and each counter made up front would be one more object for
    # the cyclic GC. (A property, not ``__getattr__``: a class with ``__getattr__`` gets no
    # specialised attribute loads from CPython 3.11, so every ``t._data`` would pay.)
    @property
    def _version_counter(self) -> _Version:
        try:
            return self._vc
        except AttributeError:
            vc = self._vc = _Version()
            return vc

    @_version_counter.setter
    def _version_counter(self, vc: _Version) -> None:
        self._vc = vc

    # ------------------------------------------------------------------
    # attributes

    @property
    def data(self) -> Tensor:
        """A detached tensor sharing this one's storage (``Tensor.data``)."""
        t = Tensor._make(self._data)
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this leaf (``requires_grad_``)."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach()."
                )
            return self
        if requires_grad and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        if self.grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you "
                "indeed want the .grad field to be populated for a non-leaf Tensor, use "
                ".retain_grad() on the non-leaf Tensor.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: expected {list(self.shape)}, "
                    f"got {list(value.shape)}"
                )
            if value.dtype is not self.dtype:
                raise RuntimeError(
                    f"assigned grad has data of a different type: expected {self.dtype}, got "
                    f"{value.dtype}"
                )
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def _version(self) -> int:
        return self._version_counter.v

    @property
    def dtype(self) -> D.dtype:
        return D._NP_TO_DTYPE[self._data.dtype]

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the length of one dim (``Tensor.size``)."""
        if dim is None:
            return Size(self._data.shape)
        from .ops._util import canon_dim

        return self._data.shape[canon_dim(dim, self._data.ndim)] if self._data.ndim else 1

    def stride(self, dim: int | None = None):
        """Strides in elements (``Tensor.stride``)."""
        item = self._data.itemsize
        st = tuple(s // item for s in self._data.strides)
        if dim is None:
            return st
        from .ops._util import canon_dim

        return st[canon_dim(dim, self._data.ndim)]

    def storage_offset(self) -> int:
        base = self._data
        while base.base is not None and isinstance(base.base, np.ndarray):
            base = base.base
        off = self._data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return off // self._data.itemsize

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def untyped_storage(self):
        base = self._data
        while isinstance(base.base, np.ndarray):
            base = base.base
        return base

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def device(self) -> _device.device:
        return _device.cpu if type(self._data) is np.ndarray else _device.device("cuda", 0)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    is_sparse = False
    is_quantized = False
    is_meta = False
    is_mkldnn = False
    layout = "torch.strided"

    @property
    def is_floating_point_(self) -> bool:
        return self.dtype.is_floating_point

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self.dtype.is_complex

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def get_device(self) -> int:
        return -1 if self.is_cpu else 0

    # ------------------------------------------------------------------
    # conversions

    def item(self):
        """The single value as a Python number (``Tensor.item``)."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        """Nested Python lists of the values (``Tensor.tolist``)."""
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The backing NumPy array, shared (``Tensor.numpy``)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if self.dtype is D.bfloat16:
            # NumPy has no bfloat16; PyTorch refuses too (convert with .float() first)
            raise TypeError("Got unsupported ScalarType BFloat16")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError(
                    "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy "
                    "the tensor to host memory first."
                )
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self._data if type(self._data) is np.ndarray else self._data.get()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __dlpack__(self, *, stream=-1, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule sharing this tensor's memory (``Tensor.__dlpack__``)."""
        from .utils import dlpack

        return dlpack.export(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        """``(device type, index)`` in DLPack's codes (``Tensor.__dlpack_device__``)."""
        return self._data.__dlpack_device__()

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()).item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __contains__(self, element) -> bool:
        from .ops import elementwise

        return bool((elementwise.eq(self, element))._data.any())

    def __repr__(self, *, tensor_contents=None) -> str:
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, proto):
        shared = _shared_memory.reduce_args(self._data)
        if shared is not None:  # another process maps the same memory (Hogwild)
            return (_rebuild_shared, (shared, self._requires_grad))
        return (_rebuild, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment."
            )
        new = type(self).__new__(type(self))
        Tensor.__init_from__(new, self._data.copy(), self._requires_grad)
        if type(self) is not Tensor:
            new.__dict__.update({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        if self._grad is not None:
            new._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = new
        return new

    @staticmethod
    def __init_from__(t, array, requires_grad=False):
        t._data = array
        t._requires_grad = requires_grad
        t.grad_fn = None
        t._output_nr = 0
        t._grad = None
        t._version_counter = _Version()

    # ------------------------------------------------------------------
    # autograd

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaves) into the leaves' ``.grad`` (``Tensor.backward``)."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor sharing storage, outside the graph (``Tensor.detach``)."""
        t = Tensor._make(self._data)
        t._version_counter = self._version_counter
        return t

    def detach_(self) -> Tensor:
        if self._base is not None and self._view_chain:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (``retain_grad``)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        node = self.grad_fn
        node._hooked = True
        if node._retains is None:
            node._retains = {}
        node._retains[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed (``register_hook``)."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        key = object()
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            self._hooks[key] = hook
            return _fn._RemovableHandle(self._hooks, key)
        node = self.grad_fn
        node._hooked = True
        if node._pre_hooks is None:
            node._pre_hooks = {}
        hooks = node._pre_hooks.setdefault(self._output_nr, {})
        hooks[key] = hook
        return _fn._RemovableHandle(hooks, key)

    def register_post_accumulate_grad_hook(self, hook):
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if self._post_acc_hooks is None:
            self._post_acc_hooks = {}
        key = object()
        self._post_acc_hooks[key] = hook
        return _fn._RemovableHandle(self._post_acc_hooks, key)

    def _accumulator(self):
        acc = self._acc_ref() if self._acc_ref is not None else None
        if acc is None:
            acc = _fn.AccumulateGrad(self)
            self._acc_ref = weakref.ref(acc)
        return acc

    # ------------------------------------------------------------------
    # in-place machinery

    def _check_inplace(self) -> None:
        if self._requires_grad and self.grad_fn is None and grad_mode._enabled.enabled:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        base = self._base
        if (
            base is not None
            and self._view_chain
            and base._requires_grad
            and base.grad_fn is None
            and grad_mode._enabled.enabled
        ):
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )

    def _inplace(self, fn, *args, **kwargs) -> Tensor:
        """Compute ``fn(self, *args)`` and write it into this tensor's storage.

        When autograd records, ``fn`` runs on a snapshot that carries this
        tensor's history, and the result's node becomes this tensor's
        ``grad_fn`` (and, for a view, its base's, through ``CopySlices``).
        """
        recording = grad_mode._enabled.enabled and (
            self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
        )
        if not recording:
            res = fn(self, *args, **kwargs)
            self._write(res)
            return self
        self._check_inplace()
        snap = Tensor._make(self._data.copy())
        snap._requires_grad = self._requires_grad
        snap.grad_fn = self.grad_fn
        snap._output_nr = self._output_nr
        if self._requires_grad and self.grad_fn is None:
            snap._acc_ref = None
        # x.mul_(x): the op reads the old value of x, which is the snapshot
        args = tuple(snap if a is self else a for a in args)
        res = fn(snap, *args, **kwargs)
        self._write(res)
        self._rebase_history(res)
        return self

    def _write(self, res: Tensor) -> None:
        d = res._data
        if d.shape != self._data.shape:
            try:
                if np.broadcast_shapes(d.shape, self._data.shape) != self._data.shape:
                    raise ValueError
            except ValueError:
                raise RuntimeError(
                    f"output with shape {list(self._data.shape)} doesn't match the broadcast "
                    f"shape {_bc_shape(d.shape, self._data.shape)}"
                ) from None
        if d.dtype != self._data.dtype:
            _check_cast(D._NP_TO_DTYPE[d.dtype], self.dtype)
        try:
            np.copyto(self._data, d, casting="unsafe")
        except ValueError as e:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location. Please clone() the tensor before performing the "
                f"operation. ({e})"
            ) from None
        self._version_counter.v += 1

    def _rebase_history(self, res: Tensor) -> None:
        if not res._requires_grad:
            return
        base = self._base
        if base is not None and self._view_chain:
            from .ops.shape import CopySlices, ViewOfBase

            CopySlices.rebase(base, self, res)
            ViewOfBase.attach(base, self)
            # the base's other views now read from its new history too
            for view in _fn.live_views(base):
                if view is not self and view._view_chain:
                    ViewOfBase.attach(base, view)
            return
        self.grad_fn = res.grad_fn
        self._output_nr = res._output_nr
        self._requires_grad = True

    # ------------------------------------------------------------------
    # dtype / device

    def to(self, *args, **kwargs) -> Tensor:
        """Convert dtype and/or device (``Tensor.to``); returns self when nothing changes."""
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {list(kwargs)}")
        for a in args:
            if isinstance(a, D.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
            elif isinstance(a, (str, _device.device, int)) and not isinstance(a, bool):
                dev = a
            elif a is None:
                continue
            else:
                raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
        t = self
        if dev is not None:
            t = t._to_device(_device.to_device(dev))
        if dtype is not None and dtype is not t.dtype:
            from .ops.shape import ToCopy

            t = ToCopy.apply(t, dtype=D.to_dtype(dtype).np)
        if copy and t is self:
            t = self.clone()
        return t

    def _to_device(self, dev: _device.device) -> Tensor:
        if dev.type == self.device.type:
            return self
        from .ops.shape import ToDevice

        return ToDevice.apply(self, xp=dev.xp)

    def cpu(self) -> Tensor:
        return self._to_device(_device.cpu)

    def cuda(self, device=None, non_blocking=False) -> Tensor:
        return self._to_device(_device.device("cuda", device if isinstance(device, int) else 0))

    def type(self, dtype=None, non_blocking=False):
        """The type name, or a conversion (``Tensor.type``)."""
        if dtype is None:
            return _fn._type_name(self._data.dtype)
        if isinstance(dtype, str):
            names = {
                "torch.FloatTensor": D.float32,
                "torch.DoubleTensor": D.float64,
                "torch.HalfTensor": D.float16,
                "torch.BFloat16Tensor": D.bfloat16,
                "torch.LongTensor": D.int64,
                "torch.IntTensor": D.int32,
                "torch.ShortTensor": D.int16,
                "torch.CharTensor": D.int8,
                "torch.ByteTensor": D.uint8,
                "torch.BoolTensor": D.bool_,
            }
            if dtype not in names:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = names[dtype]
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(D.float32)

    def double(self) -> Tensor:
        return self.to(D.float64)

    def half(self) -> Tensor:
        return self.to(D.float16)

    def bfloat16(self) -> Tensor:
        """This tensor as ``torch.bfloat16`` (``Tensor.bfloat16``).

        Returns:
            A bfloat16 copy, or ``self`` when it already is bfloat16.

        Raises:
            ImportError: ml_dtypes (the ``bfloat16`` extra) is not installed.
        """
        return self.to(D.bfloat16)

    def long(self) -> Tensor:
        return self.to(D.int64)

    def int(self) -> Tensor:
        return self.to(D.int32)

    def short(self) -> Tensor:
        return self.to(D.int16)

    def char(self) -> Tensor:
        return self.to(D.int8)

    def byte(self) -> Tensor:
        return self.to(D.uint8)

    def bool(self) -> Tensor:
        return self.to(D.bool_)

    def pin_memory(self) -> Tensor:
        return self

    def share_memory_(self) -> Tensor:
        """Move the data into memory shared with other processes (``Tensor.share_memory_``):
        processes this tensor is passed to (``multiprocessing.Process`` arguments, queues,
        ``fork``) see each other's in-place changes. Views taken before keep the old memory."""
        if not _shared_memory.is_shared(self._data):
            self._data = _shared_memory.share(self._data)
        return self

    def is_pinned(self) -> bool:
        return False

    def is_shared(self) -> bool:
        """Whether the data lies in shared memory (``Tensor.is_shared``)."""
        return _shared_memory.is_shared(self._data)


def _bc_shape(a, b) -> list:
    """The broadcast of shapes ``a`` and ``b`` for an error message (``a`` if they don't)."""
    try:
        return list(np.broadcast_shapes(a, b))
    except ValueError:
        return list(a)


def _check_cast(src: D.dtype, dst: D.dtype) -> None:
    if src.category > dst.category:
        raise RuntimeError(
            f"result type {_fn._type_name(src.np)[6:-6]} can't be cast to the desired "
            f"output type {_fn._type_name(dst.np)[6:-6]}"
        )


class _TypedTensorMeta(type):
    """``isinstance(t, FloatTensor)`` checks the dtype, as with PyTorch's legacy types."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls._dtype


def _typed_tensor(name: str, dt: D.dtype):
    def __new__(cls, *args, device=None):
        # FloatTensor(2, 3) is uninitialised; FloatTensor([1, 2]) copies the data
        return Tensor(*args, dtype=dt)

    doc = (
        f"The legacy ``torch.{name}`` constructor: a {dt} tensor."
        "\n\nArgs:\n    *args: sizes (uninitialised tensor) or one sequence of data to copy.\n"
        "    device: accepted for signature compatibility; ignored.\n"
    )
    return _TypedTensorMeta(name, (), {"__new__": __new__, "_dtype": dt, "__doc__": doc})


FloatTensor = _typed_tensor("FloatTensor", D.float32)
DoubleTensor = _typed_tensor("DoubleTensor", D.float64)
HalfTensor = _typed_tensor("HalfTensor", D.float16)
LongTensor = _typed_tensor("LongTensor", D.int64)
IntTensor = _typed_tensor("IntTensor", D.int32)
ShortTensor = _typed_tensor("ShortTensor", D.int16)
CharTensor = _typed_tensor("CharTensor", D.int8)
ByteTensor = _typed_tensor("ByteTensor", D.uint8)
BoolTensor = _typed_tensor("BoolTensor", D.bool_)


def _rebuild(array, requires_grad):
    t = Tensor._make(array)
    t._requires_grad = requires_grad
    return t


def _rebuild_shared(shared, requires_grad):
    """A tensor pickled from shared memory: the same memory, mapped in this process."""
    return _rebuild(_shared_memory.rebuild(*shared), requires_grad)


_fn._Tensor = Tensor
_fn._CONST_VERSION = _CONST_VERSION
_fn._Version = _Version
