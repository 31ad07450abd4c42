"""A ResNet-20 (He et al., 2016, the CIFAR variant) trained on CIFAR-10 when the data
is on disk, with training and test error curves.

    python examples/resnet_cifar.py [--fast] [--out DIR] [--seed S] [--data-dir D]
        [--train N] [--epochs E]

When CIFAR-10 is not found it says where it looked and how to get it, checks that the
network trains on one batch of random images, and exits without a figure.
"""

from __future__ import annotations

import _common


def main() -> None:
    parser = _common.make_parser(__doc__.splitlines()[0], data=True)
    parser.add_argument("--train", type=int, default=None, help="training images used")
    parser.add_argument("--epochs", type=int, default=None, help="epochs")
    args = parser.parse_args()
    import tapegrad as torch
    from tapegrad import datasets, models, nn, train
    from tapegrad.utils.data import DataLoader, TensorDataset

    torch.manual_seed(args.seed)
    model = models.resnet20(num_classes=10)
    nb_params = sum(p.numel() for p in model.parameters())
    try:
        train_set = datasets.CIFAR10(args.data_dir, train=True)
        test_set = datasets.CIFAR10(args.data_dir, train=False)
    except RuntimeError as error:
        print(f"CIFAR-10 is not available, so ResNet-20 is not trained.\n{error}")
        # Still check that the network trains: one SGD step on random images.
        x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"ResNet-20 ({nb_params} parameters): one step on random images, loss {loss:.3f}")
        _common.summary(data=False, parameters=nb_params, loss=loss.item())
        return

    n_train = args.train or (256 if args.fast else 10000)
    n_test = 64 if args.fast else 2000
    epochs = args.epochs or (1 if args.fast else 10)

    def tensors(ds, n):
        # (N, 32, 32, 3) uint8 -> (N, 3, 32, 32) float, normalised per channel.
        x = torch.as_tensor(ds.data[:n]).float().div(255).permute(0, 3, 1, 2)
        return x, torch.as_tensor(ds.targets[:n]).long()

    train_x, train_y = tensors(train_set, n_train)
    test_x, test_y = tensors(test_set, n_test)
    mean = train_x.mean((0, 2, 3), keepdim=True)
    std = train_x.std((0, 2, 3), keepdim=True)
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    loader = DataLoader(
        TensorDataset(train_x, train_y),
        batch_size=128,
        shuffle=True,
        generator=torch.Generator().manual_seed(args.seed),
    )
    test_loader = DataLoader(TensorDataset(test_x, test_y), batch_size=500)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = train.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        loader,
        test_loader,
        epochs=epochs,
        scheduler=scheduler,
    )
    for i, logs in enumerate(history):
        print(
            f"epoch {i + 1}: train error {100 * logs['error']:.2f}%, "
            f"test error {100 * logs['val_error']:.2f}%"
        )
    plt = _common.pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        ep = range(1, len(history) + 1)
        ax.plot(ep, [100 * e for e in history["error"]], "o-", label="Train")
        ax.plot(ep, [100 * e for e in history["val_error"]], "o-", label="Test")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Error (%)")
        ax.set_title(f"ResNet-20 ({nb_params} parameters) on CIFAR-10, {n_train} images")
        ax.legend()
        _common.save(fig, args.out, "resnet_cifar.png")
    _common.summary(
        data=True,
        parameters=nb_params,
        train_error=history["error"],
        test_error=history["val_error"],
    )


if __name__ == "__main__":
    main()
