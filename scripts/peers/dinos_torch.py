"""PyTorch peer for `seqlab dinos bench --batch 32`: the course's RNN (n_a=50) on the
dinosaur names, padded batches of 32 with a masked loss, Adam, element-wise clip 5, one
thread. Prints one JSON line with names/s.

    pip install torch
    python3 scripts/peers/dinos_torch.py ../shared/data/dinosaurs.txt [steps]
"""
import json
import random
import sys
import time

import torch
import torch.nn as nn


def main():
    torch.set_num_threads(1)
    names = [l.strip().lower() for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    chars = sorted(set("".join(names)) | {"\n"})
    ix = {c: i for i, c in enumerate(chars)}
    v = len(chars)
    rnn = nn.RNN(v, 50, batch_first=True)
    out = nn.Linear(50, v)
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=0.005)
    random.seed(0)

    def batch(group):
        t = max(len(n) for n in group) + 1
        x = torch.zeros(len(group), t, v)
        y = torch.zeros(len(group), t, dtype=torch.long)
        m = torch.zeros(len(group), t)
        for b, n in enumerate(group):
            ids = [ix[c] for c in n] + [ix["\n"]]
            for k, i in enumerate(ids):
                if k + 1 < t and k < len(ids) - 1:
                    x[b, k + 1, i] = 1.0
                y[b, k] = i
                m[b, k] = 1.0
        return x, y, m

    batches = []
    for _ in range(steps):
        batches.append(batch(random.sample(names, 32)))
    start = time.perf_counter()
    for x, y, m in batches:
        opt.zero_grad()
        h, _ = rnn(x)
        logits = out(h)
        loss = (nn.functional.cross_entropy(logits.reshape(-1, v), y.reshape(-1), reduction="none") * m.reshape(-1)).sum() / 32
        loss.backward()
        for p in params:
            p.grad.clamp_(-5, 5)
        opt.step()
    secs = time.perf_counter() - start
    print(json.dumps({"names_per_sec": steps * 32 / secs, "steps": steps, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
