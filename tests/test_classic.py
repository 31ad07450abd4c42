"""Tests of tapegrad.classic against brute-force references, NumPy and PyTorch."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch as pt

import tapegrad as torch
from tapegrad.autograd import gradcheck
from tapegrad.classic import (
    KNN,
    LinearSVM,
    LogisticRegression,
    Perceptron,
    fit_polynomial,
    knn_predict,
    knn_votes,
    least_squares,
    pairwise_sq_distances,
    polynomial_features,
    polynomial_predict,
    random_product_features,
    random_product_pairs,
    train_perceptron,
    xor_features,
)


def T(a, dtype=None):
    """A tapegrad tensor from a NumPy array."""
    return torch.tensor(np.asarray(a), dtype=dtype)


def separable(rng, n=60, d=2, margin=0.2):
    """Points in [-1, 1]^d labelled by a random hyperplane, those nearer than ``margin``
    to it dropped, so the data is linearly separable with that margin."""
    w, b = rng.normal(size=d), 0.1
    w /= np.linalg.norm(w)
    x = rng.uniform(-1, 1, size=(4 * n, d))
    s = x @ w + b
    keep = np.abs(s) > margin
    x, s = x[keep][:n], s[keep][:n]
    return x, np.where(s > 0, 1.0, -1.0)


# ----------------------------------------------------------------------------- perceptron


def perceptron_reference(x, y, epochs):
    """The perceptron of seed 004 written as plain loops, with a bias column."""
    x = np.concatenate([x, np.ones((len(x), 1))], 1)
    w, mistakes = np.zeros(x.shape[1]), []
    for _ in range(epochs):
        changes = 0
        for n in range(len(x)):
            if y[n] * (x[n] @ w) <= 0:
                w = w + y[n] * x[n]
                changes += 1
        mistakes.append(changes)
        if changes == 0:
            break
    return w, mistakes


def test_perceptron_converges_on_separable_data_like_reference():
    rng = np.random.default_rng(0)
    x, y = separable(rng, n=80, margin=0.15)
    p = Perceptron().fit(T(x, torch.float64), T(y, torch.float64), epochs=1000)
    w_ref, mistakes_ref = perceptron_reference(x, y, 1000)
    assert p.mistakes == mistakes_ref
    assert p.mistakes[-1] == 0 and p.mistakes[0] > 0
    np.testing.assert_allclose(p.weight.numpy(), w_ref)
    assert p.error(T(x), T(y)) == 0.0
    # Novikoff: at most (R / gamma)^2 updates, R the radius of the data with its bias
    # coordinate, gamma the margin of a separating unit vector (here (w*, b) normalised).
    assert sum(p.mistakes) <= 4 * (1 + 2) / 0.15**2


def test_perceptron_does_not_converge_on_xor_but_does_on_xor_features():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([-1.0, 1.0, 1.0, -1.0])
    plain = Perceptron().fit(x, y, epochs=50)
    assert len(plain.mistakes) == 50 and min(plain.mistakes) > 0
    assert plain.error(x, y) > 0
    phi = xor_features(x)
    assert phi.tolist() == [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]]
    p = Perceptron().fit(phi, y, epochs=50)
    assert p.mistakes[-1] == 0
    assert p.predict(phi).tolist() == y.tolist()
    # The seed's separating plane x_u + x_v - 2 x_u x_v = 1/2 works too.
    s = phi @ torch.tensor([1.0, 1.0, -2.0]) - 0.5
    assert torch.where(s > 0, 1.0, -1.0).tolist() == y.tolist()


def test_train_perceptron_without_bias_and_callback():
    rng = np.random.default_rng(1)
    x, y = separable(rng, n=40, margin=0.2)
    xb = np.concatenate([x, np.ones((len(x), 1))], 1)
    w = train_perceptron(T(xb, torch.float64), T(y), 200)
    w_ref, _ = perceptron_reference(x, y, 200)
    np.testing.assert_allclose(w.numpy(), w_ref)
    seen = []
    Perceptron().fit(T(x), T(y), 200, callback=lambda e, m, p: seen.append((e, m)))
    assert seen[-1][1] == 0 and [e for e, _ in seen] == list(range(len(seen)))


def test_perceptron_bad_input():
    with pytest.raises(ValueError, match="labels in"):
        Perceptron().fit(torch.zeros(3, 2), torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        Perceptron().fit(torch.zeros(3, 2), torch.ones(4))
    with pytest.raises(RuntimeError, match="not trained"):
        Perceptron().predict(torch.zeros(3, 2))


# ------------------------------------------------------------------------------------ knn


def knn_reference(train_x, train_y, test_x, k):
    """Brute force: sort each test point's distances (stably), majority of the first k
    labels, ties to the smallest label."""
    out = []
    for t in test_x:
        d = ((train_x - t) ** 2).sum(1)
        nearest = np.argsort(d, kind="stable")[:k]
        counts = Counter(train_y[nearest].tolist())
        best = max(counts.values())
        out.append(min(c for c, v in counts.items() if v == best))
    return np.array(out)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7, 25, 60])
def test_knn_matches_brute_force(k):
    rng = np.random.default_rng(k)
    # Integer coordinates, so many neighbours are at exactly equal distance.
    train_x = rng.integers(0, 5, size=(60, 2)).astype(np.float64)
    train_y = rng.integers(0, 3, size=60)
    test_x = rng.integers(0, 5, size=(30, 2)).astype(np.float64)
    got = knn_predict(T(train_x), T(train_y), T(test_x), k)
    assert got.dtype == torch.int64
    np.testing.assert_array_equal(got.numpy(), knn_reference(train_x, train_y, test_x, k))
    votes = knn_votes(T(train_x), T(train_y), T(test_x), k, chunk_size=7)
    assert votes.shape == (30, 3) and votes.sum(1).tolist() == [k] * 30


def test_knn_one_neighbour_has_zero_training_error_and_object_api():
    rng = np.random.default_rng(3)
    x = T(rng.normal(size=(50, 3)), torch.float32)
    y = T(rng.integers(0, 4, size=50))
    model = KNN(k=1).fit(x, y)
    assert model.error(x, y) == 0.0
    assert model.predict(x, k=50).unique().numel() == 1  # everyone votes the same
    d = pairwise_sq_distances(x, x)
    ref = ((x.numpy()[:, None] - x.numpy()[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d.numpy(), ref, atol=1e-4)


def test_knn_bad_input():
    x, y = torch.zeros(5, 2), torch.zeros(5, dtype=torch.int64)
    with pytest.raises(ValueError, match="k must be"):
        knn_predict(x, y, x, 6)
    with pytest.raises(ValueError, match=r"\(5, 2\) and \(3, 4\)"):
        knn_predict(x, y, torch.zeros(3, 4), 1)
    with pytest.raises(RuntimeError, match="fit"):
        KNN().predict(x)


# -------------------------------------------------------------------------- least squares


def test_least_squares_matches_numpy_and_torch():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    got = least_squares(T(X), T(y))
    assert got.shape == (4,) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    ref = pt.linalg.lstsq(pt.tensor(X), pt.tensor(y).view(-1, 1)).solution.view(-1)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-10)
    Y = rng.normal(size=(30, 2))
    np.testing.assert_allclose(
        least_squares(T(X), T(Y)).numpy(), np.linalg.lstsq(X, Y, rcond=None)[0], rtol=1e-10
    )
    # float32 as in the seed, against PyTorch in float32
    got32 = least_squares(T(X, torch.float32), T(y, torch.float32))
    ref32 = pt.linalg.lstsq(pt.tensor(X).float(), pt.tensor(y).float().view(-1, 1)).solution
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), ref32.view(-1).numpy(), rtol=1e-4, atol=1e-5)


def test_ridge_matches_closed_form():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 5)), rng.normal(size=20)
    for rho in (1e-3, 0.5, 10.0):
        ref = np.linalg.solve(X.T @ X + rho * np.eye(5), X.T @ y)
        np.testing.assert_allclose(least_squares(T(X), T(y), ridge=rho).numpy(), ref, rtol=1e-10)
    # The penalty shrinks the coefficients.
    norms = [np.linalg.norm(least_squares(T(X), T(y), ridge=r).numpy()) for r in (0, 1, 100)]
    assert norms[0] > norms[1] > norms[2]


def test_polynomial_fit_matches_numpy_and_the_seed():
    x = np.linspace(-np.pi, np.pi, 100)
    X = polynomial_features(T(x), 4)
    np.testing.assert_allclose(X.numpy(), np.vander(x, 5, increasing=True))
    alpha = fit_polynomial(T(x), T(np.sin(x)), 4)
    ref = np.polynomial.polynomial.polyfit(x, np.sin(x), 4)
    np.testing.assert_allclose(alpha.numpy(), ref, atol=1e-10)
    np.testing.assert_allclose(
        polynomial_predict(alpha, T(x)).numpy(), np.polynomial.polynomial.polyval(x, ref)
    )
    # The seed's example in float32 against PyTorch's lstsq.
    xt = pt.linspace(-np.pi, np.pi, 100)
    Xt = pt.stack([xt.pow(d) for d in range(5)], 1)
    ref32 = pt.linalg.lstsq(Xt, xt.sin().view(-1, 1)).solution.view(-1)
    xg = torch.linspace(-np.pi, np.pi, 100)
    np.testing.assert_allclose(fit_polynomial(xg, xg.sin(), 4).numpy(), ref32.numpy(), atol=1e-4)
    ridge = fit_polynomial(T(x), T(np.sin(x)), 4, ridge=1.0).numpy()
    V = np.vander(x, 5, increasing=True)
    ref = np.linalg.solve(V.T @ V + np.eye(5), V.T @ np.sin(x))
    np.testing.assert_allclose(ridge, ref, rtol=1e-9, atol=1e-12)


def test_least_squares_bad_input():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        least_squares(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"N = 3, got \(4,\)"):
        least_squares(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="ridge"):
        least_squares(torch.zeros(3, 2), torch.zeros(3), ridge=-1.0)
    with pytest.raises(ValueError, match="degree"):
        polynomial_features(torch.zeros(3), -1)


# ---------------------------------------------------------------------------- logistic


def logistic_data(rng, n=100):
    x = np.concatenate([rng.normal(-1, 1, size=(n // 2, 2)), rng.normal(1, 1, size=(n // 2, 2))])
    y = np.concatenate([-np.ones(n // 2), np.ones(n // 2)])
    return x, y


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_logistic_hand_gradient_matches_autograd_and_torch(reduction):
    rng = np.random.default_rng(0)
    x, y = logistic_data(rng)
    w0 = rng.normal(size=2)
    model = LogisticRegression(2, reduction=reduction, dtype=torch.float64)
    model.weight, model.bias = T(w0), torch.tensor(0.3, dtype=torch.float64)
    dw, db = model.gradient(T(x), T(y))
    aw, ab = model.autograd_gradient(T(x), T(y))
    np.testing.assert_allclose(dw.numpy(), aw.numpy(), rtol=1e-12)
    np.testing.assert_allclose(db.item(), ab.item(), rtol=1e-12)
    # PyTorch: -sum log sigmoid(y (w.x + b))
    w = pt.tensor(w0, requires_grad=True)
    b = pt.tensor(0.3, dtype=pt.float64, requires_grad=True)
    per = -pt.nn.functional.logsigmoid(pt.tensor(y) * (pt.tensor(x) @ w + b))
    loss = per.sum() if reduction == "sum" else per.mean()
    loss.backward()
    np.testing.assert_allclose(model.loss(T(x), T(y)).item(), loss.item(), rtol=1e-12)
    np.testing.assert_allclose(dw.numpy(), w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(db.item(), b.grad.item(), rtol=1e-12)


def test_logistic_loss_gradcheck():
    rng = np.random.default_rng(1)
    x, y = logistic_data(rng, 20)
    model = LogisticRegression(2, dtype=torch.float64)
    w = T(rng.normal(size=2)).requires_grad_(True)
    b = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda w, b: model.loss(T(x), T(y), w, b), (w, b))


def test_logistic_training_hand_and_autograd_agree_and_learn():
    rng = np.random.default_rng(2)
    x, y = logistic_data(rng)
    models = []
    for use_autograd in (False, True):
        torch.manual_seed(0)
        m = LogisticRegression(2, lr=0.1, use_autograd=use_autograd, dtype=torch.float64)
        m.fit(T(x), T(y), steps=50)
        models.append(m)
    hand, auto = models
    np.testing.assert_allclose(hand.weight.numpy(), auto.weight.numpy(), rtol=1e-9)
    np.testing.assert_allclose(hand.losses, auto.losses, rtol=1e-9)
    assert hand.steps_done == 50 and hand.losses[-1] < hand.losses[0]
    assert hand.error(T(x), T(y)) < 0.15
    p = hand.predict_proba(T(x))
    assert ((p > 0) & (p < 1)).all()
    assert set(hand.predict(T(x)).tolist()) <= {-1.0, 1.0}
    # Reference: the same steps with PyTorch from the same start.
    torch.manual_seed(0)
    start = LogisticRegression(2, dtype=torch.float64).weight.numpy()
    w, b = pt.tensor(start, requires_grad=True), pt.zeros((), dtype=pt.float64, requires_grad=True)
    for _ in range(50):
        loss = -pt.nn.functional.logsigmoid(pt.tensor(y) * (pt.tensor(x) @ w + b)).sum()
        gw, gb = pt.autograd.grad(loss, (w, b))
        with pt.no_grad():
            w -= 0.1 * gw
            b -= 0.1 * gb
    np.testing.assert_allclose(hand.weight.numpy(), w.detach().numpy(), rtol=1e-9)


def test_logistic_bad_input():
    with pytest.raises(ValueError, match="reduction"):
        LogisticRegression(2, reduction="max")
    with pytest.raises(ValueError, match=r"\(4, 2\) and \(3,\)"):
        LogisticRegression(2).loss(torch.zeros(4, 2), torch.zeros(3))


# -------------------------------------------------------------------------------- svm


def test_svm_subgradient_matches_torch_autograd_of_the_objective():
    rng = np.random.default_rng(0)
    x, y = separable(rng, n=40, margin=0.1)
    svm = LinearSVM(lam=0.01, lr=0.5).fit(T(x), T(y), steps=3)
    w = pt.tensor(svm.weight.numpy(), requires_grad=True)
    b = pt.tensor(svm.bias.item(), dtype=pt.float64, requires_grad=True)
    obj = 0.01 * (w * w).sum() + pt.relu(1 - pt.tensor(y) * (pt.tensor(x) @ w + b)).mean()
    obj.backward()
    np.testing.assert_allclose(svm.hinge_loss(T(x), T(y)).item(), obj.item(), rtol=1e-12)
    # One more step by hand from the current point equals PyTorch's gradient step
    # (no sample sits exactly at margin 1, where the subgradients could differ).
    w1, b1 = svm.weight.clone(), svm.bias.clone()
    svm2 = LinearSVM(lam=0.01, lr=0.5).fit(T(x), T(y), steps=4)
    eta = 0.5 / 4**0.5
    np.testing.assert_allclose(svm2.weight.numpy(), (w1.numpy() - eta * w.grad.numpy()))
    np.testing.assert_allclose(svm2.bias.item(), b1.item() - eta * b.grad.item())


def test_svm_reaches_the_optimum_and_separates():
    from scipy.optimize import minimize

    rng = np.random.default_rng(4)
    x, y = separable(rng, n=40, margin=0.25)
    lam = 0.01
    svm = LinearSVM(lam=lam, lr=2.0).fit(T(x), T(y), steps=2000)
    assert svm.error(T(x), T(y)) == 0.0
    # The same problem as a smooth QP over (w, b, slacks), solved by SLSQP.
    n = len(x)

    def objective(v):
        return lam * v[:2] @ v[:2] + v[3:].mean()

    cons = [
        {"type": "ineq", "fun": lambda v: y * (x @ v[:2] + v[2]) - 1 + v[3:]},
        {"type": "ineq", "fun": lambda v: v[3:]},
    ]
    best = minimize(objective, np.zeros(3 + n) + 0.1, constraints=cons, method="SLSQP").fun
    assert svm.losses[-1] == pytest.approx(best, rel=0.02)
    assert svm.losses[-1] < svm.losses[0] == 1.0  # w = b = 0: every hinge is 1
    sv = svm.support_vectors(T(x), T(y), tol=0.05)
    assert 2 <= sv.numel() < n
    # C form: lam = 1 / (2 C N)
    assert LinearSVM(C=2.0)._lam(50) == pytest.approx(1 / 200)


def test_svm_bad_input():
    with pytest.raises(ValueError, match=r"\(3, 2\) and \(2,\)"):
        LinearSVM().fit(torch.zeros(3, 2), torch.ones(2))
    with pytest.raises(RuntimeError, match="not trained"):
        LinearSVM().predict(torch.zeros(3, 2))


# --------------------------------------------------------------------------- features


def test_random_product_features():
    gen = torch.Generator().manual_seed(0)
    pairs = random_product_pairs(6, 10, generator=gen)
    assert pairs.shape == (10, 2) and pairs.dtype == torch.int64
    assert int(pairs.min()) >= 0 and int(pairs.max()) < 6
    x = torch.rand(4, 6)
    phi = random_product_features(x, pairs)
    assert phi.shape == (4, 16)
    xn, pn = x.numpy(), pairs.numpy()
    np.testing.assert_allclose(
        phi.numpy(), np.concatenate([xn, xn[:, pn[:, 0]] * xn[:, pn[:, 1]]], 1)
    )
    with pytest.raises(ValueError, match=r"\(2, 2\)|\(2, 3\)"):
        xor_features(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="nb_products"):
        random_product_pairs(6, -1)
