"""The perceptron on MNIST's "8" against the other classes, its 28x28 pixel features
supplemented with products of random pairs of pixels: training and test error against
the number of features (seed 004, "3.1. The perceptron", capacity by feature design).

    python examples/perceptron_mnist.py [--fast] [--out DIR] [--seed S] [--data-dir D]

Uses MNIST when its files are found, else Fashion-MNIST (class 8 is "Bag"), else
synthetic digits. More features give the perceptron more capacity: the training error
falls towards zero while the test error stops improving and rises.
"""

from __future__ import annotations

import _common


def main() -> None:
    args = _common.make_parser(__doc__.splitlines()[0], data=True).parse_args()
    import tapegrad as torch
    from tapegrad.classic import Perceptron, random_product_features, random_product_pairs

    n_train, n_test = (600, 600) if args.fast else (6000, 5000)
    name, train_x, train_y, test_x, test_y = _common.load_images(args.data_dir, n_train, n_test)
    train_x, test_x = train_x.view(n_train, -1), test_x.view(n_test, -1)
    # "8" against the others, labels in {-1, 1}.
    train_t = torch.where(train_y == 8, 1.0, -1.0)
    test_t = torch.where(test_y == 8, 1.0, -1.0)
    epochs = 5 if args.fast else 50
    nb_products = [0, 1000] if args.fast else [0, 250, 1000, 2500, 5000, 10000]
    gen = torch.Generator().manual_seed(args.seed)
    # Nested sets of products, so that each model has the features of the previous one.
    all_pairs = random_product_pairs(784, max(nb_products), generator=gen)
    nb_features, train_err, test_err = [], [], []
    for k in nb_products:
        pairs = all_pairs[:k]
        phi_train = random_product_features(train_x, pairs)
        phi_test = random_product_features(test_x, pairs)
        p = Perceptron().fit(phi_train, train_t, epochs=epochs)
        nb_features.append(phi_train.shape[1])
        train_err.append(p.error(phi_train, train_t))
        test_err.append(p.error(phi_test, test_t))
        print(
            f"{nb_features[-1]:6d} features: train error {100 * train_err[-1]:.2f}%, "
            f"test error {100 * test_err[-1]:.2f}% (mistakes per epoch {p.mistakes})"
        )

    plt = _common.pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        ax.plot(nb_features, [100 * e for e in train_err], "o-", label="Train error")
        ax.plot(nb_features, [100 * e for e in test_err], "o-", label="Test error")
        ax.set_xscale("log")
        ax.set_xlabel("Nb. of features")
        ax.set_ylabel("E (%)")
        ax.set_ylim(bottom=0)
        ax.set_title(
            f'Perceptron, {name} "8" vs. the others\n({n_train} training images, {epochs} epochs)'
        )
        ax.legend()
        _common.save(fig, args.out, "perceptron_mnist.png")
    _common.summary(
        dataset=name, nb_features=nb_features, train_error=train_err, test_error=test_err
    )


if __name__ == "__main__":
    main()
