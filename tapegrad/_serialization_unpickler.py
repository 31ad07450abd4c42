"""The weights-only unpickler (mirrors ``torch/_weights_only_unpickler.py``).

A pickle is a small program; this module runs it with an interpreter of its own instead
of Python's, so that it decides what every instruction may do:

- ``GLOBAL`` only yields what the allow-list names (the caller's table, plus what the user
  added with ``tapegrad.serialization.add_safe_globals``); nothing is ever imported.
- ``REDUCE`` / ``NEWOBJ`` only call allow-listed callables and classes.
- ``BUILD``, ``SETITEM(S)``, ``APPEND(S)`` and ``ADDITEMS`` only change objects that this
  load created itself, of the few types whose state it knows how to set. So a file can
  never change an object that existed before the load (a dtype, a class, a function's
  defaults): loading has no effect on the rest of the process.
- The interpreter is a loop, not a recursion (no ``RecursionError`` on deep nesting); the
  memo is a dict (no huge allocation for a forged memo index); the Python objects it
  builds are counted and bounded by the size of the pickle.

Any refusal or malformed stream raises :class:`UnpicklingError`, which is both a
``pickle.UnpicklingError`` (what PyTorch raises) and a ``RuntimeError`` (what tapegrad
raises for every corrupt file), with the file's name in the message.
"""

from __future__ import annotations

import _compat_pickle
import collections
import gc
import pickle
import struct
import threading
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "UnpicklingError",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "safe_globals",
    "weights_only_unpickle",
    "globals_in_pickle",
]


class UnpicklingError(pickle.UnpicklingError, RuntimeError):
    """A pickle that is malformed or asks for something a weights-only load refuses.

    A ``pickle.UnpicklingError`` as in PyTorch, and a ``RuntimeError`` like every other
    corrupt-file error of ``tapegrad.load``, so ``except RuntimeError`` catches them all.
    ``detail`` is the message without the file's name; ``refused`` is true when the file
    is well-formed but asks for something a weights-only load does not allow.

    Args:
        what: what was being loaded (the file), put first in the message.
        detail: the message without the file's name.
        refused: True when the file is well-formed but asks for something a weights-only load does
            not allow.
    """

    def __init__(self, what: str, detail: str, refused: bool = False):
        super().__init__(f"{what}: {detail}")
        self.what, self.detail, self.refused = what, detail, refused


# ----------------------------------------------------------------------------------------
# User-added safe globals (torch.serialization.add_safe_globals & co.)

# Modules never allowed, even when the user asks (PyTorch's blocklist).
_BLOCKED_MODULES = ("sys", "os", "posix", "nt")

_safe_lock = threading.Lock()
_safe_globals: list[Callable | tuple[Callable, str]] = []


def _check_entry(entry) -> None:
    if isinstance(entry, tuple):
        if len(entry) != 2:
            raise ValueError(
                "Expected tuple of length 2 (global, str of callable full path), but got "
                f"tuple of length: {len(entry)}"
            )
        if type(entry[1]) is not str:
            raise TypeError(
                "Expected second item in tuple to be str of callable full path, but got: "
                f"{type(entry[1])}"
            )


def add_safe_globals(safe_globals: list[Callable | tuple[Callable, str]]) -> None:
    """Allow these classes and functions in ``weights_only`` loads
    (``torch.serialization.add_safe_globals``).

    An entry is a class or function, found under ``f"{obj.__module__}.{obj.__qualname__}"``,
    or a pair ``(obj, "module.name")`` for an object pickled under another name. Only add
    what you trust: its constructor and ``__setstate__`` run on data from the file.

    Args:
        safe_globals: Classes and functions, or ``(obj, "module.name")`` pairs.
    """
    for entry in safe_globals:
        _check_entry(entry)
    with _safe_lock:
        for entry in safe_globals:
            if entry not in _safe_globals:
                _safe_globals.append(entry)


def get_safe_globals() -> list[Callable | tuple[Callable, str]]:
    """The globals added by :func:`add_safe_globals` (``torch.serialization.get_safe_globals``).

    Returns:
        The allowed globals.
    """
    with _safe_lock:
        return list(_safe_globals)


def clear_safe_globals() -> None:
    """Forget every global added by :func:`add_safe_globals`
    (``torch.serialization.clear_safe_globals``)."""
    with _safe_lock:
        _safe_globals.clear()


class safe_globals:  # noqa: N801 - mirrors torch.serialization.safe_globals
    """Context manager allowing globals in ``weights_only`` loads inside its block
    (``torch.serialization.safe_globals``):

        with tapegrad.serialization.safe_globals([MyConfig]):
            obj = tapegrad.load("ckpt.pt")

    Args:
        safe_globals: Classes and functions, or ``(obj, "module.name")`` pairs.
    """

    def __init__(self, safe_globals: list[Callable | tuple[Callable, str]]):
        self.safe_globals = list(safe_globals)
        self._added: list = []

    def __enter__(self) -> None:
        for entry in self.safe_globals:
            _check_entry(entry)
        with _safe_lock:
            self._added = [e for e in self.safe_globals if e not in _safe_globals]
            _safe_globals.extend(self._added)

    def __exit__(self, *exc) -> None:
        with _safe_lock:
            for entry in self._added:
                if entry in _safe_globals:
                    _safe_globals.remove(entry)
        self._added = []


def user_allowed_globals() -> dict[str, Any]:
    """``"module.name" -> object`` for every user-added safe global."""
    out: dict[str, Any] = {}
    for entry in get_safe_globals():
        if isinstance(entry, tuple):
            obj, name = entry
            out[name] = obj
        else:
            out[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return out


def _display_name(full: str) -> str:
    # PyTorch shows builtins without their module: GLOBAL print, not builtins.print.
    if full.startswith("builtins."):
        return full[len("builtins.") :]
    return full


def unsupported_global_message(full: str) -> str:
    """PyTorch's message for a global that a weights-only load refuses."""
    shown = _display_name(full)
    return (
        f"Unsupported global: GLOBAL {shown} was not an allowed global by default. "
        f"Please use `torch.serialization.add_safe_globals([{shown}])` or the "
        f"`torch.serialization.safe_globals([{shown}])` context manager to allowlist this "
        "global if you trust this class/function."
    )


def _fix_name(module: str, name: str) -> tuple[str, str]:
    # Python 2 names (__builtin__, copy_reg...), as pickle's fix_imports and PyTorch do.
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


# ----------------------------------------------------------------------------------------
# The interpreter

# Python objects built per byte of pickle, at most (a generous bound for real pickles:
# a list of one-character strings costs about 10 bytes of objects per byte of pickle).
_OBJECT_BYTES_PER_PICKLE_BYTE = 16
_OBJECT_BYTES_FLOOR = 16 << 20
_MARK = object()


class _Interpreter:
    def __init__(
        self,
        data: bytes,
        allowed: Mapping[str, Any],
        what: str,
        *,
        persistent_load: Callable[[Any], Any] | None,
        encoding: str,
        builders: Mapping[type, Callable[[Any, Any], None]],
        new_object: Callable[[Any, tuple], Any] | None,
        user_globals: bool,
    ):
        self.data = bytes(data)
        self.pos = 0
        self.what = what
        self.allowed = dict(allowed)
        self.user = user_allowed_globals() if user_globals else {}
        self.callable_ids = {id(v) for v in (*self.allowed.values(), *self.user.values())}
        self.user_types = {v for v in self.user.values() if isinstance(v, type)}
        self.persistent_load = persistent_load
        self.encoding = encoding
        self.builders = builders
        self.new_object = new_object
        self.memo: dict[int, Any] = {}
        self.created: set[int] = set()
        self.keep: list[Any] = []  # objects in ``created`` stay alive, so ids stay theirs
        self.budget = _OBJECT_BYTES_FLOOR + _OBJECT_BYTES_PER_PICKLE_BYTE * len(data)

    # -- helpers ---------------------------------------------------------------------

    def fail(self, message: str) -> UnpicklingError:
        return UnpicklingError(self.what, message)

    def refuse(self, message: str) -> UnpicklingError:
        return UnpicklingError(self.what, message, refused=True)

    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise self.fail("the pickle is truncated")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def readline(self) -> bytes:
        end = self.data.find(b"\n", self.pos, self.pos + 4096)
        if end < 0:
            raise self.fail("the pickle is truncated or corrupt (unterminated line)")
        line = self.data[self.pos : end]
        self.pos = end + 1
        return line

    def charge(self, nbytes: int) -> None:
        self.budget -= nbytes
        if self.budget < 0:
            raise self.fail(
                "the pickle builds far more objects than its size allows (a memory bomb?)"
            )

    def new(self, obj):
        """``obj`` was created by this load: mark it so BUILD/SETITEM may fill it."""
        self.created.add(id(obj))
        self.keep.append(obj)
        self.charge(64)
        return obj

    def mine(self, obj) -> bool:
        return id(obj) in self.created

    def pop_mark(self) -> list:
        items = self.stack
        if not self.metastack:
            raise self.fail("the pickle is corrupt (no MARK)")
        self.stack = self.metastack.pop()
        return items

    def lookup(self, module: str, name: str):
        module, name = _fix_name(module, name)
        full = f"{module}.{name}"
        if module.split(".")[0] in _BLOCKED_MODULES:
            raise self.refuse(
                f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked."
            )
        if full in self.allowed:
            return self.allowed[full]
        if full in self.user:
            return self.user[full]
        raise self.refuse(unsupported_global_message(full))

    def check_callable(self, func) -> None:
        if id(func) not in self.callable_ids:
            raise self.refuse(f"Trying to call reduce for unrecognized function {func!r:.100}")

    def text(self, raw) -> str:
        return str(raw, "utf-8", "surrogatepass")

    def old_string(self, raw: bytes):
        # Python 2 ``str``: bytes, decoded as the caller asked (CIFAR uses latin1).
        return raw if self.encoding == "bytes" else raw.decode(self.encoding, "strict")

    # -- the loop: one method per opcode, found in _DISPATCH ---------------------------

    def run(self):
        self.stack, self.metastack = [], []
        data, dispatch = self.data, _DISPATCH
        while True:
            try:
                op = data[self.pos]
            except IndexError:
                raise self.fail("the pickle is truncated (no STOP)") from None
            self.pos += 1
            handler = dispatch.get(op)
            if handler is None:
                raise self.fail(f"Unsupported operand {op}")
            if handler(self):
                return self.result

    def op_proto(self):
        if self.read(1)[0] > pickle.HIGHEST_PROTOCOL:
            raise self.fail("unsupported pickle protocol")

    def op_frame(self):
        self.read(8)

    def op_stop(self):
        if len(self.stack) != 1 or self.metastack:
            raise self.fail("the pickle is corrupt (stack not empty at STOP)")
        self.result = self.stack.pop()
        return True

    # -- globals and calls

    def op_global(self):
        module = self.readline().decode("utf-8")
        name = self.readline().decode("utf-8")
        self.stack.append(self.lookup(module, name))

    def op_stack_global(self):
        name, module = self.stack.pop(), self.stack.pop()
        if type(module) is not str or type(name) is not str:
            raise self.fail("STACK_GLOBAL needs two strings")
        self.stack.append(self.lookup(module, name))

    def op_reduce(self):
        stack = self.stack
        args = stack.pop()
        func = stack[-1]
        if type(args) is not tuple:
            raise self.fail("REDUCE arguments are not a tuple")
        self.check_callable(func)
        # The allow-listed callables return fresh objects (or immutable ones, which no
        # opcode can change), so BUILD and SETITEM may fill in what they return; what a
        # user-added function returns is the user's trust.
        stack[-1] = self.new(func(*args))

    def op_newobj(self, kwargs=None):
        stack = self.stack
        args = stack.pop()
        cls = stack.pop()
        if type(args) is not tuple or (kwargs is not None and type(kwargs) is not dict):
            raise self.fail("NEWOBJ arguments are malformed")
        self.check_callable(cls)
        if self.new_object is not None and (obj := self.new_object(cls, args)) is not None:
            stack.append(self.new(obj))
        elif isinstance(cls, type):
            stack.append(self.new(cls.__new__(cls, *args, **(kwargs or {}))))
        else:
            raise self.refuse(
                "Can only create new object for nn.Parameter or classes allowlisted "
                f"via `add_safe_globals` but got {cls!r:.100}"
            )

    def op_newobj_ex(self):
        self.op_newobj(self.stack.pop())

    def op_build(self):
        state = self.stack.pop()
        self.build(self.stack[-1], state)

    def op_binpersid(self):
        self.persist(self.stack.pop())

    def op_persid(self):
        self.persist(self.readline().decode("ascii"))

    def persist(self, pid):
        if self.persistent_load is None:
            raise self.fail("unsupported persistent id encountered")
        self.stack.append(self.persistent_load(pid))

    # -- containers

    def op_mark(self):
        self.metastack.append(self.stack)
        self.stack = []

    def op_empty_tuple(self):
        self.stack.append(())

    def op_tuple(self):
        items = self.pop_mark()
        self.charge(8 * len(items))
        self.stack.append(tuple(items))

    def op_tuple1(self):
        self.stack[-1] = (self.stack[-1],)
        self.charge(64)

    def op_tuple2(self):
        stack = self.stack
        stack[-2:] = [(stack[-2], stack[-1])]
        self.charge(64)

    def op_tuple3(self):
        stack = self.stack
        stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
        self.charge(64)

    def op_empty_list(self):
        self.stack.append(self.new([]))

    def op_list(self):
        items = self.pop_mark()
        self.charge(8 * len(items))
        self.stack.append(self.new(items))

    def op_empty_dict(self):
        self.stack.append(self.new({}))

    def op_dict(self):
        items = self.pop_mark()
        d = self.new({})
        self.set_items(d, items, "DICT")
        self.stack.append(d)

    def op_empty_set(self):
        self.stack.append(self.new(set()))

    def op_frozenset(self):
        items = self.pop_mark()
        self.charge(16 * len(items))
        self.stack.append(frozenset(items))

    def op_append(self):
        item = self.stack.pop()
        self.target(self.stack[-1], list, "append to").append(item)
        self.charge(8)

    def op_appends(self):
        items = self.pop_mark()
        self.target(self.stack[-1], list, "extend").extend(items)
        self.charge(8 * len(items))

    def op_setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        self.set_items(self.stack[-1], [key, value], "SETITEM")

    def op_setitems(self):
        items = self.pop_mark()
        self.set_items(self.stack[-1], items, "SETITEMS")

    def op_additems(self):
        items = self.pop_mark()
        self.target(self.stack[-1], set, "add to").update(items)
        self.charge(16 * len(items))

    # -- stack and memo

    def op_pop(self):
        if self.stack:
            self.stack.pop()
        else:
            self.pop_mark()

    def op_pop_mark(self):
        self.pop_mark()

    def op_dup(self):
        self.stack.append(self.stack[-1])

    def memoize(self, i: int):
        self.memo[i] = self.stack[-1]
        self.charge(64)

    def op_put(self):
        self.memoize(self.index(self.readline()))

    def op_binput(self):
        self.memoize(self.read(1)[0])

    def op_long_binput(self):
        self.memoize(struct.unpack("<I", self.read(4))[0])

    def op_memoize(self):
        self.memoize(len(self.memo))

    def op_get(self):
        self.stack.append(self.memo_get(self.index(self.readline())))

    def op_binget(self):
        self.stack.append(self.memo_get(self.read(1)[0]))

    def op_long_binget(self):
        self.stack.append(self.memo_get(struct.unpack("<I", self.read(4))[0]))

    # -- scalars

    def op_none(self):
        self.stack.append(None)

    def op_newtrue(self):
        self.stack.append(True)

    def op_newfalse(self):
        self.stack.append(False)

    def op_binint(self):
        self.stack.append(struct.unpack("<i", self.read(4))[0])

    def op_binint1(self):
        self.stack.append(self.read(1)[0])

    def op_binint2(self):
        self.stack.append(struct.unpack("<H", self.read(2))[0])

    def op_long1(self):
        self.long(self.read(1)[0])

    def op_long4(self):
        self.long(struct.unpack("<i", self.read(4))[0])

    def long(self, n: int):
        self.charge(32 + n)
        self.stack.append(int.from_bytes(self.read(n), "little", signed=True))

    def op_int(self):
        line = self.readline()
        self.charge(32 + len(line))
        self.stack.append(line == b"01" if line in (b"00", b"01") else int(line.rstrip(b"L")))

    def op_binfloat(self):
        self.stack.append(struct.unpack(">d", self.read(8))[0])
        self.charge(24)

    def op_float(self):
        self.stack.append(float(self.readline()))
        self.charge(24)

    # -- strings and bytes

    def sized(self, fmt: str | None) -> bytes:
        n = (
            self.read(1)[0]
            if fmt is None
            else struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]
        )
        self.charge(64 + n)
        return self.read(n)

    def op_short_binunicode(self):
        self.stack.append(self.text(self.sized(None)))

    def op_binunicode(self):
        self.stack.append(self.text(self.sized("<I")))

    def op_binunicode8(self):
        self.stack.append(self.text(self.sized("<Q")))

    def op_short_binbytes(self):
        self.stack.append(self.sized(None))

    def op_binbytes(self):
        self.stack.append(self.sized("<I"))

    def op_binbytes8(self):
        self.stack.append(self.sized("<Q"))

    def op_bytearray8(self):
        self.stack.append(self.new(bytearray(self.sized("<Q"))))

    def op_short_binstring(self):
        self.stack.append(self.old_string(self.sized(None)))

    def op_binstring(self):
        self.stack.append(self.old_string(self.sized("<i")))

    def op_unicode(self):
        line = self.readline()
        self.charge(64 + len(line))
        self.stack.append(line.decode("raw-unicode-escape"))

    def op_string(self):
        line = self.readline()
        if len(line) < 2 or line[0] != line[-1] or line[:1] not in (b"'", b'"'):
            raise self.fail("the pickle is corrupt (bad STRING)")
        self.charge(64 + len(line))
        self.stack.append(self.old_string(_escape_decode(line[1:-1])))

    def index(self, line: bytes) -> int:
        i = int(line)
        if i < 0:
            raise self.fail("negative memo index")
        return i

    def memo_get(self, i: int):
        try:
            return self.memo[i]
        except KeyError:
            raise self.fail(f"the pickle is corrupt (memo {i} is not defined)") from None

    def target(self, obj, kind: type, verb: str):
        if type(obj) is not kind or not self.mine(obj):
            raise self.refuse(f"Can only {verb} {kind.__name__}s, but got {type(obj)}")
        return obj

    def set_items(self, obj, items: list, opcode: str) -> None:
        if type(obj) not in _DICT_TYPES or not self.mine(obj):
            raise self.refuse(
                f"Can only {opcode} for dict, collections.OrderedDict, "
                f"collections.Counter, but got {type(obj)}"
            )
        if len(items) % 2:
            raise self.fail(f"the pickle is corrupt (odd number of items for {opcode})")
        self.charge(16 * len(items))
        for i in range(0, len(items), 2):
            obj[items[i]] = items[i + 1]

    def build(self, inst, state) -> None:
        kind = type(inst)
        if not self.mine(inst):
            raise self.refuse(
                "Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                f"`add_safe_globals`, but got {kind} that this load did not create"
            )
        builder = self.builders.get(kind)
        if builder is not None:
            builder(inst, state)
        elif kind in _DICT_TYPES and kind is not dict:
            _set_attributes(inst, state, None)
        elif kind in self.user_types:
            # The user trusts this class: do what pickle does, as PyTorch does.
            if getattr(kind, "__setstate__", None) is not None:
                inst.__setstate__(state)
            else:
                slots = None
                if isinstance(state, tuple) and len(state) == 2:
                    state, slots = state
                _set_attributes(inst, state, slots)
        else:
            raise self.refuse(
                "Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                f"`add_safe_globals`, but got {kind}"
            )


def _dispatch() -> dict[int, Callable[[_Interpreter], Any]]:
    table = {}
    for name in dir(_Interpreter):
        if name.startswith("op_"):
            table[getattr(pickle, name[3:].upper())[0]] = getattr(_Interpreter, name)
    # Protocol 0/1 spellings that share a handler.
    table[pickle.LONG[0]] = _Interpreter.op_int
    return table


def _set_attributes(inst, state, slots) -> None:
    if state:
        if not isinstance(state, dict) or not all(type(k) is str for k in state):
            raise ValueError("BUILD state is not a dict of attribute names")
        inst.__dict__.update(state)
    if slots:
        if not isinstance(slots, dict) or not all(type(k) is str for k in slots):
            raise ValueError("BUILD slot state is not a dict of attribute names")
        for k, v in slots.items():
            setattr(inst, k, v)


def _escape_decode(raw: bytes) -> bytes:
    import codecs

    return codecs.escape_decode(raw)[0]


_DICT_TYPES = (dict, collections.OrderedDict, collections.Counter)

_DISPATCH = _dispatch()

# What a malformed stream can raise from inside the interpreter or an allowed callable.
_MALFORMED = (
    IndexError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    OverflowError,
    UnicodeError,
    struct.error,
    ArithmeticError,
    MemoryError,
    RecursionError,
    pickle.UnpicklingError,
)


def weights_only_unpickle(
    data: bytes,
    allowed: Mapping[str, Any],
    what: str,
    *,
    persistent_load: Callable[[Any], Any] | None = None,
    encoding: str = "ASCII",
    builders: Mapping[type, Callable[[Any, Any], None]] | None = None,
    new_object: Callable[[Any, tuple], Any] | None = None,
    user_globals: bool = True,
) -> Any:
    """Unpickle ``data`` allowing only the globals in ``allowed`` (``"module.name" -> obj``)
    and those added with :func:`add_safe_globals`.

    ``builders`` maps a type to the function that applies a ``BUILD`` state to an
    instance this load created; ``new_object(cls, args)`` may build ``NEWOBJ`` for
    special classes (or return ``None``). ``what`` (the file) is named in every error.
    ``user_globals=False`` ignores what :func:`add_safe_globals` added (dataset files).
    """
    interp = _Interpreter(
        data,
        allowed,
        what,
        persistent_load=persistent_load,
        encoding=encoding,
        builders=builders or {},
        new_object=new_object,
        user_globals=user_globals,
    )
    # The load creates many containers and frees none: the cyclic garbage collector
    # would rescan them all again and again (quadratic time), so it waits until the end.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return interp.run()
    except UnpicklingError as e:
        if e.what == what:
            raise
        raise UnpicklingError(what, e.detail, e.refused) from None
    except _MALFORMED as e:
        detail = str(e) if isinstance(e, pickle.UnpicklingError) else f"{type(e).__name__}: {e}"
        raise UnpicklingError(what, f"the pickle is truncated or corrupt: {detail}") from None
    finally:
        if gc_was_enabled:
            gc.enable()


def globals_in_pickle(data: bytes, what: str) -> list[str]:
    """Every ``module.name`` the pickle's GLOBAL / STACK_GLOBAL instructions name, in order,
    found without running it (``torch.serialization.get_unsafe_globals_in_checkpoint``)."""
    import pickletools

    found: list[str] = []
    strings: list[str] = []
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if opcode.name == "GLOBAL":
                module, name = _fix_name(*arg.split(" ", 1))
                found.append(f"{module}.{name}")
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                module, name = _fix_name(strings[-2], strings[-1])
                found.append(f"{module}.{name}")
            if isinstance(arg, str) and "UNICODE" in opcode.name:
                strings.append(arg)
    except (ValueError, TypeError) as e:
        raise UnpicklingError(what, f"the pickle is truncated or corrupt: {e}") from None
    return list(dict.fromkeys(found))
