"""nn.Module semantics against PyTorch: registration, traversal, modes, grads, dtype casts,
hooks, repr, state_dict round trips and the containers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_same, assert_same_error, to_numpy

import tapegrad


def make_net(lib):
    """A small network that exercises parameters, buffers and nested submodules."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.register_buffer("scale", lib.ones(3))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)
            self.gain = nn.Parameter(lib.ones(1))
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.fc(x))) * self.scale * self.gain

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.heads = nn.ModuleList([nn.Linear(3, 2), nn.Linear(3, 2, bias=False)])
            self.extra = nn.ModuleDict({"drop": nn.Dropout(0.1), "id": nn.Identity()})
            self.seq = nn.Sequential(nn.Linear(2, 2), nn.Tanh())

        def forward(self, x):
            h = self.extra["id"](self.block(x))
            return self.seq(self.heads[0](h) + self.heads[1](h))

    return Net()


def test_traversal_names_match_pytorch():
    t, g = make_net(torch), make_net(tapegrad)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert [type(m).__name__ for m in g.modules()] == [type(m).__name__ for m in t.modules()]
    assert [type(m).__name__ for m in g.children()] == [type(m).__name__ for m in t.children()]
    assert len(list(g.parameters())) == len(list(t.parameters()))
    assert len(list(g.buffers())) == len(list(t.buffers()))
    assert [n for n, _ in g.named_parameters(recurse=False)] == []
    assert [n for n, _ in g.block.named_parameters(recurse=False)] == ["gain"]
    assert [n for n, _ in g.named_parameters(prefix="m")] == [
        n for n, _ in t.named_parameters(prefix="m")
    ]
    assert list(g.state_dict()) == list(t.state_dict())
    assert "block.scratch" not in g.state_dict()
    assert "block.scratch" in dict(g.named_buffers())
    assert isinstance(g.block.gain, tapegrad.nn.Parameter)
    assert g.get_submodule("seq.0") is g.seq[0]
    assert g.get_parameter("heads.1.weight") is g.heads[1].weight
    assert g.get_buffer("block.scale") is g.block.scale


def test_shared_parameters_are_listed_once():
    for lib in (torch, tapegrad):
        lin = lib.nn.Linear(2, 2)
        seq = lib.nn.Sequential(lin, lin)
        assert len(list(seq.parameters())) == 2
        assert len(list(seq.named_modules())) == 2
        assert len(list(seq.named_parameters(remove_duplicate=False))) == 4


def test_registration_rules_and_errors():
    g = tapegrad.nn.Module()
    g.w = tapegrad.nn.Parameter(tapegrad.ones(2))
    assert "w" in g._parameters
    g.w = None
    assert g.w is None and "w" in g._parameters
    g.register_buffer("b", tapegrad.zeros(1))
    g.b = tapegrad.ones(1)  # re-assigning a buffer keeps it a buffer
    assert "b" in g._buffers and g.b.numpy()[0] == 1
    g.sub = tapegrad.nn.Linear(1, 1)
    assert "sub" in g._modules
    del g.sub
    assert "sub" not in g._modules
    g.plain = 3
    assert g.plain == 3 and "plain" not in g._buffers

    def bad_param(lib):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.ones(1))
        m.w = lib.ones(1)

    def bad_buffer_name(lib):
        lib.nn.Module().register_buffer("a.b", lib.ones(1))

    def bad_buffer_type(lib):
        lib.nn.Module().register_buffer("a", 3)

    def existing_attr(lib):
        m = lib.nn.Module()
        m.x = 1
        m.register_buffer("x", lib.ones(1))

    def non_leaf_param(lib):
        m = lib.nn.Module()
        w = lib.ones(1, requires_grad=True) * 2
        m.register_parameter("w", w)

    def bad_module(lib):
        lib.nn.Module().add_module("m", 3)

    def before_init(lib):
        class M(lib.nn.Module):
            def __init__(self):
                self.w = lib.nn.Parameter(lib.ones(1))

        M()

    def module_over_module(lib):
        m = lib.nn.Module()
        m.sub = lib.nn.Linear(1, 1)
        m.sub = 3

    for fn in (bad_param, bad_buffer_name, bad_buffer_type, existing_attr, non_leaf_param,
               bad_module, before_init, module_over_module):  # fmt: skip
        assert_same_error(fn)


def test_attribute_error_text():
    t_exc, g_exc = assert_same_error(lambda lib: lib.nn.Linear(2, 2).nonexistent)
    assert str(g_exc) == str(t_exc)
    t_exc, g_exc = assert_same_error(lambda lib: lib.nn.Sequential().missing_layer)
    assert str(g_exc) == str(t_exc)
    assert_same_error(lambda lib: make_net(lib).get_submodule("block.nope"))


def test_train_eval_and_requires_grad():
    g = make_net(tapegrad)
    assert g.training and all(m.training for m in g.modules())
    assert g.eval() is g
    assert not any(m.training for m in g.modules())
    g.train()
    assert all(m.training for m in g.modules())
    g.train(False)
    assert not g.block.bn.training
    assert g.requires_grad_(False) is g
    assert not any(p.requires_grad for p in g.parameters())
    g.requires_grad_()
    assert all(p.requires_grad for p in g.parameters())


def test_zero_grad_set_to_none():
    g = make_net(tapegrad)
    g(tapegrad.ones(5, 4)).sum().backward()
    assert all(p.grad is not None for p in g.parameters())
    g.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in g.parameters())
    g.zero_grad()
    assert all(p.grad is None for p in g.parameters())


def test_dtype_casts_and_apply():
    g = make_net(tapegrad)
    assert g.double() is g
    assert all(p.dtype == tapegrad.float64 for p in g.parameters())
    assert g.block.bn.running_mean.dtype == tapegrad.float64
    # integer buffers are not cast
    assert g.block.bn.num_batches_tracked.dtype == tapegrad.int64
    g.float()
    assert all(p.dtype == tapegrad.float32 for p in g.parameters())
    g.to(tapegrad.float64)
    assert g.seq[0].weight.dtype == tapegrad.float64
    g.to("cpu", dtype=tapegrad.float32)
    assert g.seq[0].weight.dtype == tapegrad.float32
    # a cast keeps the Parameter objects (optimizers hold references to them)
    w = g.heads[0].weight
    g.double()
    assert g.heads[0].weight is w and isinstance(w, tapegrad.nn.Parameter)
    g.float()
    seen = []
    assert g.apply(lambda m: seen.append(type(m).__name__)) is g
    t_seen = []
    make_net(torch).apply(lambda m: t_seen.append(type(m).__name__))
    assert seen == t_seen

    def init_linear(m):
        if isinstance(m, tapegrad.nn.Linear):
            tapegrad.nn.init.constant_(m.weight, 0.5)

    g.apply(init_linear)
    assert (g.seq[0].weight.detach().numpy() == 0.5).all()


def _check_hooks(lib):
    m = lib.nn.Linear(3, 2)
    calls = []

    def pre(mod, args):
        calls.append(("pre", type(args).__name__, len(args)))
        return (args[0] * 2,)

    def post(mod, args, out):
        calls.append(("post", tuple(out.shape)))
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    x = lib.ones(1, 3)
    y = m(x)
    expected = lib.nn.functional.linear(x * 2, m.weight, m.bias) + 1
    assert np.allclose(to_numpy(y), to_numpy(expected))
    assert calls == [("pre", "tuple", 1), ("post", (1, 2))]
    h1.remove()
    h2.remove()
    calls.clear()
    m(x)
    assert calls == []

    def kw_hook(mod, args, kwargs, out):
        calls.append(sorted(kwargs))

    with m.register_forward_hook(kw_hook, with_kwargs=True):
        m(input=x)
    m(input=x)
    assert calls == [["input"]]


@pytest.mark.parametrize("lib", [torch, tapegrad], ids=["torch", "tapegrad"])
def test_forward_hooks_and_pre_hooks(lib):
    _check_hooks(lib)


def test_repr_matches_pytorch():
    def lenet(nn):
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 200),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.BatchNorm1d(200, momentum=None),
            nn.Linear(200, 10, bias=False),
            nn.LogSoftmax(dim=1),
        )

    assert repr(lenet(tapegrad.nn)) == repr(lenet(torch.nn))
    assert repr(make_net(tapegrad)) == repr(make_net(torch))
    for build in (
        lambda nn: nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()]),
        lambda nn: nn.ModuleDict({"a": nn.Tanh(), "b": nn.Sequential(nn.GELU(), nn.ELU())}),
        lambda nn: nn.Sequential(),
        lambda nn: nn.Sequential(nn.LayerNorm((3, 4)), nn.GroupNorm(2, 4), nn.Embedding(5, 2)),
        lambda nn: nn.Sequential(nn.Unflatten(1, (2, 5)), nn.Identity(), nn.PReLU(3)),
    ):
        assert repr(build(tapegrad.nn)) == repr(build(torch.nn))


def test_state_dict_round_trip_with_pytorch():
    t, g = make_net(torch), make_net(tapegrad)
    t(torch.randn(6, 4))  # move the running statistics
    res = g.load_state_dict({k: tapegrad.tensor(to_numpy(v)) for k, v in t.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    t.eval()
    g.eval()
    assert_same(t(torch.tensor(x)), g(tapegrad.tensor(x)))
    # and back: tapegrad's state loads into torch
    t2 = make_net(torch)
    t2.load_state_dict({k: torch.tensor(to_numpy(v)) for k, v in g.state_dict().items()})
    t2.eval()
    assert_same(t2(torch.tensor(x)), g(tapegrad.tensor(x)))
    sd = g.state_dict()
    assert sd["seq.0.weight"].requires_grad is False
    assert g.state_dict(keep_vars=True)["seq.0.weight"] is g.seq[0].weight
    # load_state_dict copies values: the parameters stay the same objects
    w = g.seq[0].weight
    g.load_state_dict(sd)
    assert g.seq[0].weight is w


def test_load_state_dict_missing_unexpected_and_shape_errors():
    def bad(lib, strict):
        m = make_net(lib)
        sd = dict(m.state_dict())
        del sd["seq.0.bias"]
        del sd["block.bn.running_var"]
        sd["block.foo"] = lib.ones(1)
        sd["heads.5.weight"] = lib.ones(1)
        return m.load_state_dict(sd, strict=strict)

    t_exc, g_exc = assert_same_error(lambda lib: bad(lib, True))
    assert str(g_exc) == str(t_exc)
    t_res, g_res = bad(torch, False), bad(tapegrad, False)
    assert g_res.missing_keys == t_res.missing_keys
    assert g_res.unexpected_keys == t_res.unexpected_keys
    assert repr(g_res) == repr(t_res)

    def wrong_shape(lib):
        m = lib.nn.Linear(3, 2)
        m.load_state_dict({"weight": lib.ones(2, 4), "bias": lib.ones(2)})

    t_exc, g_exc = assert_same_error(wrong_shape)
    assert str(g_exc) == str(t_exc)
    assert_same_error(lambda lib: lib.nn.Linear(3, 2).load_state_dict([1, 2]))


def test_sequential_indexing_slicing_len_append():
    for lib in (torch, tapegrad):
        nn = lib.nn
        s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        assert len(s) == 3
        assert isinstance(s[0], nn.Linear) and isinstance(s[-1], nn.Linear)
        sub = s[1:]
        assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is s[1]
        assert [n for n, _ in sub.named_children()] == ["1", "2"]  # slices keep the keys
        s.append(nn.Sigmoid())
        assert len(s) == 4 and isinstance(s[3], nn.Sigmoid)
        s[1] = nn.Tanh()
        assert isinstance(s[1], nn.Tanh)
        del s[1]
        assert [n for n, _ in s.named_children()] == ["0", "1", "2"]
        assert [type(m).__name__ for m in s] == ["Linear", "Linear", "Sigmoid"]
        s.insert(1, nn.ReLU())
        assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Linear", "Sigmoid"]
        s.extend([nn.Identity()])
        assert len(s) == 5
        assert s.pop(4).__class__.__name__ == "Identity"
        od = nn.Sequential(__import__("collections").OrderedDict(a=nn.ReLU(), b=nn.Tanh()))
        assert [n for n, _ in od.named_children()] == ["a", "b"]
        assert isinstance(od.b, nn.Tanh)
    assert_same_error(lambda lib: lib.nn.Sequential(lib.nn.ReLU())[3])
    assert_same_error(lambda lib: lib.nn.Sequential(lib.nn.ReLU()).append(3))
    # forward chains the layers
    x = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    torch.manual_seed(0)
    ts = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    tapegrad.manual_seed(0)
    gs = tapegrad.nn.Sequential(tapegrad.nn.Linear(2, 3), tapegrad.nn.ReLU(),
                                tapegrad.nn.Linear(3, 1))  # fmt: skip
    assert_same(ts(torch.tensor(x)), gs(tapegrad.tensor(x)))


def test_module_list_and_dict():
    for lib in (torch, tapegrad):
        nn = lib.nn
        ml = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
        ml.append(nn.Tanh())
        ml.extend([nn.Sigmoid()])
        ml.insert(0, nn.Identity())
        assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh", "Sigmoid"]
        assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
        assert isinstance(ml[-1], nn.Sigmoid)
        del ml[0]
        assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
        assert len(list(ml.parameters())) == 2
        md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(2, 2)})
        assert list(md.keys()) == ["b", "a"]
        md["c"] = nn.Tanh()
        assert "c" in md and len(md) == 3
        assert isinstance(md.pop("b"), nn.ReLU)
        md.update({"d": nn.ELU()})
        assert [k for k, _ in md.items()] == ["a", "c", "d"]
        assert [type(v).__name__ for v in md.values()] == ["Linear", "Tanh", "ELU"]
        assert list(md) == ["a", "c", "d"]
        assert len(list(md.parameters())) == 2
        md.clear()
        assert len(md) == 0
    assert_same_error(lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])[2])
    assert_same_error(lambda lib: lib.nn.ModuleDict({"a": lib.nn.ReLU()})["b"])
    assert_same_error(lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])(lib.ones(1)))


def test_parameter_semantics():
    p = tapegrad.nn.Parameter(tapegrad.ones(2, 3))
    tp = torch.nn.Parameter(torch.ones(2, 3))
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert repr(p) == repr(tp)
    q = tapegrad.nn.Parameter(tapegrad.ones(2), requires_grad=False)
    assert not q.requires_grad
    assert tapegrad.nn.Parameter().shape == (0,)
    y = (p * 2).sum()
    y.backward()
    assert (p.grad.numpy() == 2).all()
    assert not isinstance(p * 2, tapegrad.nn.Parameter)
    import copy

    c = copy.deepcopy(p)
    assert isinstance(c, tapegrad.nn.Parameter) and c is not p
    assert (c.grad.numpy() == 2).all()


def test_custom_module_without_forward_raises_like_pytorch():
    assert_same_error(lambda lib: lib.nn.Module()(lib.ones(1)))


@pytest.mark.parametrize("persistent", [True, False])
def test_buffer_marker(persistent):
    for lib in (torch, tapegrad):
        m = lib.nn.Module()
        m.buf = lib.nn.Buffer(lib.ones(2), persistent=persistent)
        assert "buf" in dict(m.named_buffers())
        assert ("buf" in m.state_dict()) is persistent


def _state_dict_hook_trace(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
    log = []
    m[0].register_state_dict_pre_hook(lambda mod, prefix, keep: log.append(("pre", prefix, keep)))
    m.register_state_dict_post_hook(
        lambda mod, sd, prefix, meta: log.append(("post", prefix, len(sd), meta["version"]))
    )
    sd = m.state_dict()
    log.append(("keys", list(sd)))

    def pre_load(mod, sd, prefix, meta, strict, missing, unexpected, errors):
        log.append(("pre_load", prefix, strict, sorted(k for k in sd if k.startswith(prefix))))

    def post_load(mod, keys):
        log.append(("post_load", list(keys.missing_keys), list(keys.unexpected_keys)))
        keys.unexpected_keys.clear()  # forgive the extra key

    m[1].register_load_state_dict_pre_hook(pre_load)
    m.register_load_state_dict_post_hook(post_load)
    sd = dict(sd)
    sd["extra"] = lib.ones(1)
    res = m.load_state_dict(sd)
    log.append(("result", list(res.missing_keys), list(res.unexpected_keys)))
    log.append(("modules", len(list(m.modules())), len(list(m.modules(remove_duplicate=False)))))
    return log


def test_state_dict_and_load_hooks_match_pytorch():
    assert _state_dict_hook_trace(tapegrad) == _state_dict_hook_trace(torch)


def test_to_empty_keeps_shapes_and_dtypes():
    m = tapegrad.nn.Sequential(tapegrad.nn.Linear(3, 2), tapegrad.nn.BatchNorm1d(2))
    shapes = {k: (tuple(v.shape), v.dtype) for k, v in m.state_dict().items()}
    assert m.to_empty(device="cpu") is m
    assert {k: (tuple(v.shape), v.dtype) for k, v in m.state_dict().items()} == shapes
    assert isinstance(m[0].weight, tapegrad.nn.Parameter)


def _param_containers(lib):
    nn = lib.nn
    out = []
    pl = nn.ParameterList([nn.Parameter(lib.ones(2, 3)), nn.Parameter(lib.zeros(1))])
    pl.append(nn.Parameter(lib.ones(4, dtype=lib.float64)))
    pl.extend([nn.Parameter(lib.ones(1))])
    pl[0] = nn.Parameter(lib.full((2, 3), 2.0))
    out += [repr(pl), len(pl), [n for n, _ in pl.named_parameters()], float(pl[0].detach().sum())]
    out.append(isinstance(pl[1], nn.Parameter))
    pd = nn.ParameterDict({"b": nn.Parameter(lib.ones(2)), "a": nn.Parameter(lib.zeros(3))})
    pd["c"] = nn.Parameter(lib.ones(1))
    pd.update([("d", nn.Parameter(lib.ones(5)))])
    out += [repr(pd), list(pd.keys()), len(pd), "a" in pd, [n for n, _ in pd.named_parameters()]]
    out.append(tuple(pd.pop("b").shape))
    out += [list(pd), sorted(pd.state_dict())]

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.pl, self.pd = pl, pd

    h = Holder()
    out += [list(h.state_dict()), repr(h)]
    return out


def test_parameter_list_and_dict_match_pytorch():
    assert _param_containers(tapegrad) == _param_containers(torch)


def test_container_reprs_and_errors():
    import collections

    def build(nn):
        return nn.Sequential(
            collections.OrderedDict(
                [("conv", nn.Sequential(nn.Linear(2, 2), nn.ReLU())),
                 ("heads", nn.ModuleList([nn.Linear(2, 1)] * 2)),
                 ("table", nn.ModuleDict([("x", nn.Tanh()), ("y", nn.Identity())]))]
            )
        )  # fmt: skip

    assert repr(build(tapegrad.nn)) == repr(build(torch.nn))
    assert list(build(tapegrad.nn).state_dict()) == list(build(torch.nn).state_dict())
    assert_same_error(lambda lib: lib.nn.ModuleDict({"a": 1}))
    assert_same_error(lambda lib: lib.nn.ModuleList([1]))
    assert_same_error(lambda lib: lib.nn.ParameterDict({"a": 1}).__getitem__("b"))


def _lazy_net(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.LazyLinear(5), nn.ReLU(), nn.LazyBatchNorm1d(), nn.LazyLinear(2, bias=False)
    )


def test_lazy_modules_match_pytorch():
    torch.manual_seed(0)
    t = _lazy_net(torch)
    tapegrad.manual_seed(0)
    g = _lazy_net(tapegrad)
    assert repr(g) == repr(t)
    assert list(g.state_dict()) == list(t.state_dict())
    assert [type(v).__name__ for v in g.state_dict().values()] == [
        type(v).__name__ for v in t.state_dict().values()
    ]
    assert repr(g[0].weight) == repr(t[0].weight) == "<UninitializedParameter>"
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    assert_same(t(torch.tensor(x)), g(tapegrad.tensor(x)))
    assert repr(g) == repr(t)
    assert type(g[0]) is tapegrad.nn.Linear and type(g[2]) is tapegrad.nn.BatchNorm1d
    for (k, a), b in zip(t.named_parameters(), g.parameters()):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a), err_msg=k)  # PyTorch's init
    for (k, a), b in zip(t.state_dict().items(), g.state_dict().values()):
        assert_same(a, b, where=k)
    assert all(type(p) is tapegrad.nn.Parameter for p in g.parameters())


def test_lazy_module_loads_a_checkpoint_and_instance_norm():
    src = _lazy_net(tapegrad)
    src(tapegrad.ones(4, 3))
    dst = _lazy_net(tapegrad)
    dst.load_state_dict(src.state_dict())
    assert tuple(dst[0].weight.shape) == (5, 3)
    np.testing.assert_array_equal(dst[0].weight.detach().numpy(), src[0].weight.detach().numpy())
    dst(tapegrad.ones(2, 3))
    assert type(dst[3]) is tapegrad.nn.Linear
    for lib in (torch, tapegrad):
        m = lib.nn.LazyInstanceNorm2d()
        assert repr(m).startswith("LazyInstanceNorm2d(0,")
        m(lib.ones(2, 3, 4, 4))
        assert type(m).__name__ == "InstanceNorm2d" and m.num_features == 3
    assert_same_error(lambda lib: lib.nn.LazyLinear(3).weight.shape)


def _copied_hooks_trace(lib):
    import copy

    calls = []
    lin = lib.nn.Linear(2, 2)
    handle = lin.register_forward_hook(lambda *a: calls.append("hook"))
    twin = copy.deepcopy(lin)
    lin(lib.ones(1, 2))
    twin(lib.ones(1, 2))
    handle.remove()  # removes the original's hook only
    lin(lib.ones(1, 2))
    twin(lib.ones(1, 2))
    lazy = lib.nn.Sequential(lib.nn.LazyLinear(3))
    lazy_copy = copy.deepcopy(lazy)
    lazy_copy(lib.ones(2, 4))
    lazy(lib.ones(2, 5))
    return (
        calls,
        type(lazy[0]).__name__,
        tuple(lazy[0].weight.shape),
        tuple(lazy_copy[0].weight.shape),
    )


def test_deepcopy_keeps_hooks_independent_like_pytorch():
    assert _copied_hooks_trace(tapegrad) == _copied_hooks_trace(torch)


@pytest.mark.parametrize(
    "name,shape,kw",
    [("LazyConv1d", (3, 5), {"out_channels": 2, "kernel_size": 2}),
     ("LazyConv2d", (2, 3, 6, 6), {"out_channels": 4, "kernel_size": 3, "padding": 1}),
     ("LazyConv3d", (1, 2, 4, 4, 4), {"out_channels": 3, "kernel_size": 2}),
     ("LazyConvTranspose1d", (2, 3, 5), {"out_channels": 2, "kernel_size": 3}),
     ("LazyConvTranspose2d", (2, 4, 5, 5),
      {"out_channels": 6, "kernel_size": 3, "stride": 2, "groups": 2})],
)  # fmt: skip
def test_lazy_convolutions_match_pytorch(name, shape, kw):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    torch.manual_seed(0)
    t = getattr(torch.nn, name)(**kw)
    tapegrad.manual_seed(0)
    g = getattr(tapegrad.nn, name)(**kw)
    assert repr(g) == repr(t)
    assert_same(t(torch.tensor(x)), g(tapegrad.tensor(x)))
    assert repr(g) == repr(t) and type(g).__name__ == type(t).__name__
    for (k, a), b in zip(t.state_dict().items(), g.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(b), to_numpy(a), err_msg=k)
    assert_same_error(lambda lib: getattr(lib.nn, name)(**kw)(lib.ones(2)))
