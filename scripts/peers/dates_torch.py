"""PyTorch peer for `seqlab dates bench`: the same network, timed the same way.

Bi-LSTM encoder (n_a=32) over one-hot characters, the course's attention (Dense(10, tanh),
Dense(1, relu), softmax over Tx), a post-attention LSTMCell (n_s=64) reading
[context, one-hot previous symbol], Dense(11). Inputs are padded to Tx=30 as in the course
(seqlab masks and batches by length instead, which is part of what is being compared).

    pip install torch
    python3 scripts/peers/dates_torch.py [train_examples] [dates]

Prints one JSON line: training examples/s (batch 100, one thread) and greedy dates/s
(batch 1000, two threads).
"""
import json
import sys
import time

import torch
import torch.nn as nn

TX, TY, VOCAB, OUT, N_A, N_S = 30, 10, 47, 11, 32, 64


class Nmt(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(VOCAB, N_A, bidirectional=True, batch_first=True)
        self.dense1 = nn.Linear(2 * N_A + N_S, 10)
        self.dense2 = nn.Linear(10, 1)
        self.decoder = nn.LSTMCell(2 * N_A + OUT + 1, N_S)
        self.out = nn.Linear(N_S, OUT)

    def step(self, a, s, c, prev):
        rep = s.unsqueeze(1).expand(-1, a.shape[1], -1)
        e = torch.relu(self.dense2(torch.tanh(self.dense1(torch.cat([a, rep], dim=2)))))
        alphas = torch.softmax(e, dim=1)
        context = (alphas * a).sum(dim=1)
        x = torch.cat([context, nn.functional.one_hot(prev, OUT + 1).float()], dim=1)
        s, c = self.decoder(x, (s, c))
        return self.out(s), s, c

    def forward(self, x, targets):
        a, _ = self.encoder(x)
        b = x.shape[0]
        s = torch.zeros(b, N_S)
        c = torch.zeros(b, N_S)
        prev = torch.full((b,), OUT, dtype=torch.long)
        logits = []
        for t in range(TY):
            y, s, c = self.step(a, s, c, prev)
            logits.append(y)
            prev = targets[:, t]
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, x):
        a, _ = self.encoder(x)
        b = x.shape[0]
        s = torch.zeros(b, N_S)
        c = torch.zeros(b, N_S)
        prev = torch.full((b,), OUT, dtype=torch.long)
        out = []
        for _ in range(TY):
            y, s, c = self.step(a, s, c, prev)
            prev = y.argmax(dim=1)
            out.append(prev)
        return torch.stack(out, dim=1)


def batch(n):
    ids = torch.randint(0, VOCAB, (n, TX))
    return nn.functional.one_hot(ids, VOCAB).float(), torch.randint(0, OUT, (n, TY))


def main():
    train_examples = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    dates = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    torch.manual_seed(0)
    model = Nmt()
    opt = torch.optim.Adam(model.parameters(), lr=0.005)
    loss_fn = nn.CrossEntropyLoss()

    torch.set_num_threads(1)
    data = [batch(100) for _ in range(train_examples // 100)]
    start = time.perf_counter()
    for x, y in data:
        opt.zero_grad()
        loss = loss_fn(model(x, y).reshape(-1, OUT), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    train_rate = len(data) * 100 / (time.perf_counter() - start)

    torch.set_num_threads(2)
    data = [batch(1000)[0] for _ in range(dates // 1000)]
    start = time.perf_counter()
    for x in data:
        model.greedy(x)
    infer_rate = len(data) * 1000 / (time.perf_counter() - start)
    print(json.dumps({"train_examples_per_sec": train_rate, "dates_per_sec": infer_rate, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
