"""An LSTM reading an image row by row (pytorch-tutorial's recurrent_neural_network)."""

import torch
import torch.nn as nn

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

sequence_length = 12
input_size = 12
hidden_size = 16
num_layers = 2
num_classes = 4
batch_size = 16
num_epochs = 3
learning_rate = 0.01


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
        out, _ = self.lstm(x, (h0, c0))
        out = self.fc(out[:, -1, :])
        return out


x_all = torch.randn(96, sequence_length, input_size)
y_all = (x_all[:, :, :3].sum(dim=(1, 2)) > 0).long() + 2 * (x_all[:, -1, 0] > 0).long()
model = RNN(input_size, hidden_size, num_layers, num_classes).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

total_step = len(x_all) // batch_size
for epoch in range(num_epochs):
    for i in range(total_step):
        images = x_all[i * batch_size : (i + 1) * batch_size].reshape(
            -1, sequence_length, input_size
        )
        labels = y_all[i * batch_size : (i + 1) * batch_size]
        outputs = model(images)
        loss = criterion(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (i + 1) % 3 == 0:
            print(
                "Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}".format(
                    epoch + 1, num_epochs, i + 1, total_step, loss.item()
                )
            )

model.eval()
with torch.no_grad():
    outputs = model(x_all)
    _, predicted = torch.max(outputs.data, 1)
    correct = (predicted == y_all).sum().item()
    print(
        "Accuracy of the model on the {} sequences: {} %".format(
            len(x_all), 100 * correct / len(x_all)
        )
    )
print(outputs[:2])
