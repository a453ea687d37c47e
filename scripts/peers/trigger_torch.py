"""PyTorch peer for `seqlab trigger bench` and training speed: the same network, timed the same way.

Conv1D(F, kernel 15, stride 4) -> BatchNorm -> ReLU -> GRU(H) -> BatchNorm -> GRU(H) ->
BatchNorm -> Dense(1) sigmoid over 40 log-mel bands (dropout is the identity at inference).
Streaming: batch 1, one output step per 4 frames with both GRU states carried, the last 15
frames kept in a ring, one thread -- seconds of audio per second of compute (the spectrogram
is not included here; seqlab's figure includes it). Training: batches of 10-s examples
(998 frames) on ready tensors, BCE, gradient clipping at global norm 5, Adam, two threads
(`--threads`) -- examples per second after one untimed warm-up step. seqlab's figure
(`seqlab trigger train`) also makes every example (mixing, resampling, spectrogram) and
validates each epoch.

    pip install torch
    python3 scripts/peers/trigger_torch.py [filters hidden] [--seconds 600] [--train-batches 10]
        [--threads 2] [--batch 16] [--train-only]

Defaults are seqlab's shipped sizes (96, 96); `196 128` gives the course's. Prints one JSON line.
"""
import json
import sys
import time

import torch
import torch.nn as nn

flag_values = {i + 1 for i, a in enumerate(sys.argv) if a.startswith("--") and a != "--train-only"}
args = [a for i, a in enumerate(sys.argv) if i > 0 and not a.startswith("--") and i not in flag_values]
F, H = (int(args[0]), int(args[1])) if len(args) >= 2 else (96, 96)
SECONDS = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 600.0
TRAIN_BATCHES = int(sys.argv[sys.argv.index("--train-batches") + 1]) if "--train-batches" in sys.argv else 10
THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
BATCH = int(sys.argv[sys.argv.index("--batch") + 1]) if "--batch" in sys.argv else 16
TRAIN_ONLY = "--train-only" in sys.argv
M, K, S, FRAMES = 40, 15, 4, 998


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(M, F, K, stride=S)
        self.bn0 = nn.BatchNorm1d(F)
        self.gru1 = nn.GRU(F, H, batch_first=True)
        self.bn1 = nn.BatchNorm1d(H)
        self.gru2 = nn.GRU(H, H, batch_first=True)
        self.bn2 = nn.BatchNorm1d(H)
        self.out = nn.Linear(H, 1)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):  # x: [B, M, T] -> logits [B, steps]
        z = self.drop(torch.relu(self.bn0(self.conv(x)))).transpose(1, 2)
        z, _ = self.gru1(z)
        z = self.bn1(self.drop(z).transpose(1, 2)).transpose(1, 2)
        z, _ = self.gru2(z)
        z = self.bn2(self.drop(z).transpose(1, 2)).transpose(1, 2)
        return self.out(self.drop(z)).squeeze(-1)


net = Net()

# Streaming, batch 1, one thread.
torch.set_num_threads(1)
net.eval()
cell1, cell2 = nn.GRUCell(F, H), nn.GRUCell(H, H)
cell1.load_state_dict({k.replace("_l0", ""): v for k, v in net.gru1.state_dict().items()})
cell2.load_state_dict({k.replace("_l0", ""): v for k, v in net.gru2.state_dict().items()})
frames = int(SECONDS * 100) if not TRAIN_ONLY else 0
steps = max((frames - K) // S + 1, 0)
with torch.no_grad():
    ring = torch.randn(1, M, K)
    h1, h2 = torch.zeros(1, H), torch.zeros(1, H)
    start = time.perf_counter()
    for _ in range(steps):
        ring = torch.roll(ring, -S, dims=2)
        ring[:, :, -S:] = torch.randn(1, M, S)
        z = torch.relu(net.bn0(net.conv(ring))).squeeze(-1)
        h1 = cell1(z, h1)
        h2 = cell2(net.bn1(h1.unsqueeze(-1)).squeeze(-1), h2)
        p = torch.sigmoid(net.out(net.bn2(h2.unsqueeze(-1)).squeeze(-1)))
    stream_seconds = time.perf_counter() - start

# Training on ready tensors, THREADS threads (intra-op; the inter-op pool is idle here).
torch.set_num_threads(THREADS)
net.train()
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
loss_fn = nn.BCEWithLogitsLoss()
x = torch.randn(BATCH, M, FRAMES)
y = (torch.rand(BATCH, (FRAMES - K) // S + 1) < 0.05).float()


def train_step():
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    opt.step()


train_step()  # warm-up: first-call allocations and kernel selection are not timed
start = time.perf_counter()
for _ in range(TRAIN_BATCHES):
    train_step()
train_seconds = time.perf_counter() - start

print(json.dumps({
    "peer": f"torch {torch.__version__}",
    "filters": F,
    "hidden": H,
    "streaming_realtime_factor": None if TRAIN_ONLY else SECONDS / stream_seconds,
    "train_examples_per_sec": BATCH * TRAIN_BATCHES / train_seconds,
    "train_batch": BATCH,
    "train_threads": THREADS,
}))
