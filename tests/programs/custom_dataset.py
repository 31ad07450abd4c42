"""A custom Dataset, samplers and a collate_fn (PyTorch's data loading tutorial style)."""

import torch
from torch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    WeightedRandomSampler,
    random_split,
)

torch.manual_seed(3)


class FaceLandmarksDataset(Dataset):
    """Synthetic "images" with a variable number of landmarks."""

    def __init__(self, n, transform=None):
        self.n = n
        self.transform = transform

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        if torch.is_tensor(idx):
            idx = idx.tolist()
        image = torch.full((2, 3), float(idx))
        landmarks = torch.arange(idx % 3 + 1, dtype=torch.float32).view(-1, 1) * idx
        sample = {"image": image, "landmarks": landmarks, "name": f"face{idx}"}
        if self.transform:
            sample = self.transform(sample)
        return sample


class Scale:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, sample):
        return {**sample, "image": sample["image"] * self.factor}


def pad_collate(batch):
    images = torch.stack([b["image"] for b in batch])
    lengths = torch.tensor([len(b["landmarks"]) for b in batch])
    padded = torch.zeros(len(batch), int(lengths.max()), 1)
    for i, b in enumerate(batch):
        padded[i, : len(b["landmarks"])] = b["landmarks"]
    return images, padded, lengths, [b["name"] for b in batch]


ds = FaceLandmarksDataset(10, transform=Scale(0.5))
print(len(ds), ds[4]["landmarks"].tolist())
loader = DataLoader(ds, batch_size=4, shuffle=True, collate_fn=pad_collate)
for images, padded, lengths, names in loader:
    print(images.sum().item(), padded.shape, lengths.tolist(), names)

plain = DataLoader(Subset(FaceLandmarksDataset(6), [0, 3]), batch_size=2, shuffle=False)
for batch in plain:
    print(sorted(batch), batch["image"].shape, batch["landmarks"].shape, batch["name"])

train_set, val_set = random_split(range(20), [0.75, 0.25])
print(list(train_set), list(val_set))
print(list(RandomSampler(range(8))), list(SequentialSampler(range(4))))
print(list(BatchSampler(RandomSampler(range(7)), batch_size=3, drop_last=False)))
weights = [0.1, 0.9, 0.4, 0.0, 2.0]
print(list(WeightedRandomSampler(weights, num_samples=8, replacement=True)))
print(list(WeightedRandomSampler(weights, num_samples=3, replacement=False)))
both = ConcatDataset([Subset(range(100), [5, 6, 7]), list(range(3))])
print(len(both), [both[i] for i in range(len(both))])
g = torch.Generator()
g.manual_seed(1)
for (x,) in DataLoader(
    torch.utils.data.TensorDataset(torch.arange(10.0)),
    batch_size=4,
    shuffle=True,
    generator=g,
    drop_last=True,
):
    print(x)
