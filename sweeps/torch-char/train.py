"""train.py - a real PyTorch trainer for mainline, written with mainline_log.

A byte-level GRU language model trained on the demo task's rows (problem, newline,
solution) by AdamW, with validation NLL in nats per character over the whole validation
set, checkpoints saved atomically with torch.save, resume from the last checkpoint when
mainline says MAINLINE_RESUME=1, and a clean stop (exit 5) on SIGUSR1.
It is an example of the protocol (docs/protocol.md, "Python trainers"), not a good model.

Knobs are the run's parameters (lr, seed, batch_size) and x_ ones: x_steps (60),
x_every (validation and checkpoint every N steps, 20), x_hidden (64), x_seq (64),
x_delay (seconds to sleep after each step, 0: lets tests catch a run midway).
"""
import json
import os
import sys
import time

try:
    from mainline_log import run
except ImportError:  # run from the repository: protocol/python beside sweeps/
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "protocol", "python"))
    from mainline_log import run

import torch
import torch.nn as nn
import torch.nn.functional as F


def rows_text(path, fields):
    """The dataset's rows as bytes, each "prompt\\ncompletion\\n"."""
    prompt, completion = fields.get("prompt", "problem"), fields.get("completion",
                                                                      "generated_solution")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out.append(f"{row[prompt]}\n{row[completion]}\n".encode())
    return out


class CharGRU(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.emb = nn.Embedding(256, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 256)

    def forward(self, x):  # x (B, T) bytes -> logits (B, T, 256)
        h, _ = self.gru(self.emb(x))
        return self.out(h)


def batch(data, gen, b, t):
    """b random windows of t+1 bytes of the training text: inputs and next bytes."""
    starts = torch.randint(0, len(data) - t - 1, (b,), generator=gen)
    w = torch.stack([data[s:s + t + 1] for s in starts.tolist()])
    return w[:, :-1], w[:, 1:]


@torch.no_grad()
def validation_nll(model, rows):
    """Mean NLL in nats per predicted character over every validation row."""
    total, n = 0.0, 0
    for r in rows:
        x = torch.tensor(list(r), dtype=torch.long).unsqueeze(0)
        logits = model(x[:, :-1])
        total += F.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
        n += x.shape[1] - 1
    return total / n


def main():
    p = run.params
    torch.set_num_threads(run.threads)
    lr, seed = float(p.get("lr", 3e-3)), int(p.get("seed", 0))
    steps, every = int(p.get("x_steps", 60)), int(p.get("x_every", 20))
    hidden, seq = int(p.get("x_hidden", 64)), int(p.get("x_seq", 64))
    bsz, delay = int(p.get("batch_size") or 16), float(p.get("x_delay", 0))
    ds = run.config.get("datasets", {})
    train_rows = rows_text(ds["train"]["path"], ds["train"].get("fields", {}))
    valid_rows = rows_text(ds["valid"]["path"], ds["valid"].get("fields", {}))
    data = torch.tensor(list(b"".join(train_rows)), dtype=torch.long)

    torch.manual_seed(seed)
    model = CharGRU(hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    step = 0
    ck = run.last_checkpoint() if run.resume else None
    if ck:
        state = torch.load(ck.path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        step = state["step"]
        print(f"resumed from {ck.path} (step {step})", flush=True)

    def save(step):
        state = {"model": model.state_dict(), "opt": opt.state_dict(),
                 "gen": gen.get_state(), "step": step}
        path = f"checkpoints/step-{step}.pt"
        run.save_atomic(path, lambda f: torch.save(state, f))
        run.checkpoint(step, path)

    run.handle_time_limit()
    run.start(total_steps=steps, resumed_from=step, params=sum(t.numel()
                                                               for t in model.parameters()))
    if step == 0:
        run.val(0, nll=validation_nll(model, valid_rows))
    t0, first = time.monotonic(), step
    while step < steps:
        if run.stop_requested:
            if not os.path.exists(os.path.join(run.dir, f"checkpoints/step-{step}.pt")):
                save(step)
            run.stop_for_time_limit(step)
        x, y = batch(data, gen, bsz, seq)
        loss = F.cross_entropy(model(x).reshape(-1, 256), y.reshape(-1))
        if not torch.isfinite(loss):
            run.event("diverged", step=step + 1, loss=loss.item())
            sys.exit(3)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 10 == 0 or step == steps:
            run.train(step, loss=loss.item(), lr=lr,
                      tok_per_s=(step - first) * bsz * seq / max(time.monotonic() - t0, 1e-9))
        if step % every == 0 or step == steps:
            run.val(step, nll=validation_nll(model, valid_rows))
            save(step)
        if delay:
            time.sleep(delay)
    run.done(steps=steps)


if __name__ == "__main__":
    main()
