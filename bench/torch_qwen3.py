#!/usr/bin/env python3
"""torch_qwen3.py - PyTorch's training throughput on bench_train's "qwen3" model,
for bench/bench_qwen3.sh.

The same model and step as bench/bench_train.c -m qwen3: Qwen3-0.6B's layer shape
with 2 layers (dim 1024, 16 heads of 128, 8 kv heads, q/k RMSNorm, SwiGLU 3072),
the 151,669-token vocabulary with tied embeddings, batch 2 x 256 positions of SFT rows
whose first PROMPT = 114 positions are prompt (out of the loss; the other 142 are
completion: mean cross-entropy over them), AdamW. Kinds: lora-qkvo and lora-all
(rank 8, alpha 16, the base frozen) and full. float32 on the CPU, eager mode (what
PyTorch 1.13 offers: no torch.compile, no fused attention).

Heads (-H, may repeat; default both):
  all     logits of every position, prompt targets set to -100 (ignore_index): what
          Hugging Face's causal-LM loss does
  gather  the final hidden rows of the loss's positions selected first, so lm_head and
          cross-entropy run on those only (what a careful PyTorch user would write)

  torch_qwen3.py [-s STEPS] [-r REPS] [-t THREADS]... [-k KIND]... [-H HEAD]...
prints one line per (kind, head, threads): tokens/s (positions, prompt included: best
of REPS repetitions of STEPS steps after a warm-up step) and tokens per CPU-second of
the process.
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F

C, H, L, NH, NKV, HS, V = 1024, 3072, 2, 16, 8, 128, 151669
B, T, RANK, ALPHA, EPS, PROMPT = 2, 256, 8, 16.0, 1e-6, 114


class Linear(torch.nn.Module):
    def __init__(self, i, o, lora):
        super().__init__()
        self.w = torch.nn.Parameter(torch.empty(o, i).uniform_(-0.05, 0.05))
        self.lora = lora
        if lora:
            self.a = torch.nn.Parameter(torch.empty(RANK, i).uniform_(-1 / math.sqrt(i),
                                                                      1 / math.sqrt(i)))
            self.b = torch.nn.Parameter(torch.zeros(o, RANK))

    def forward(self, x):
        y = F.linear(x, self.w)
        if self.lora:
            y = y + F.linear(F.linear(x, self.a), self.b) * (ALPHA / RANK)
        return y


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


class Model(torch.nn.Module):
    def __init__(self, kind):
        super().__init__()
        attn = kind in ("lora-qkvo", "lora-all")
        mlp = kind == "lora-all"
        self.embed = torch.nn.Parameter(torch.empty(V, C).uniform_(-0.05, 0.05))
        self.norm = torch.nn.Parameter(torch.ones(C))
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.n1, m.n2 = torch.nn.Parameter(torch.ones(C)), torch.nn.Parameter(torch.ones(C))
            m.qn, m.kn = torch.nn.Parameter(torch.ones(HS)), torch.nn.Parameter(torch.ones(HS))
            m.q, m.k = Linear(C, NH * HS, attn), Linear(C, NKV * HS, attn)
            m.v, m.o = Linear(C, NKV * HS, attn), Linear(NH * HS, C, attn)
            m.g, m.u, m.d = Linear(C, H, mlp), Linear(C, H, mlp), Linear(H, C, mlp)
            self.layers.append(m)
        inv = 1.0 / (1e6 ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS))
        f = torch.outer(torch.arange(T, dtype=torch.float64), inv)
        emb = torch.cat((f, f), -1)
        self.cos, self.sin = emb.cos().float(), emb.sin().float()
        self.mask = torch.full((T, T), float("-inf")).triu(1)

    def rope(self, x):
        h = HS // 2
        return x * self.cos + torch.cat((-x[..., h:], x[..., :h]), -1) * self.sin

    def forward(self, tokens, rows=None):
        x = F.embedding(tokens, self.embed)
        for m in self.layers:
            h = rms(x, m.n1)
            q = rms(m.q(h).view(B, T, NH, HS), m.qn).transpose(1, 2)
            k = rms(m.k(h).view(B, T, NKV, HS), m.kn).transpose(1, 2)
            v = m.v(h).view(B, T, NKV, HS).transpose(1, 2)
            q, k = self.rope(q), self.rope(k)
            k = k.repeat_interleave(NH // NKV, 1)
            v = v.repeat_interleave(NH // NKV, 1)
            s = q @ k.transpose(-1, -2) / math.sqrt(HS) + self.mask
            a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, NH * HS)
            x = x + m.o(a)
            h = rms(x, m.n2)
            x = x + m.d(F.silu(m.g(h)) * m.u(h))
        h = rms(x, self.norm)
        if rows is not None:
            h = h.reshape(B * T, C)[rows]
        return F.linear(h, self.embed)


def run(kind, head, threads, steps, reps):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model(kind)
    for n, p in model.named_parameters():
        p.requires_grad_(kind == "full" or n.endswith(".a") or n.endswith(".b"))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 259, (B, T + 1), generator=gen)
    targets = tokens[:, 1:].clone()
    targets[:, :PROMPT] = -100   # prompt positions: no loss
    targets = targets.reshape(-1)
    rows = (targets != -100).nonzero().squeeze(1)

    def step():
        if head == "gather":
            logits = model(tokens[:, :-1], rows)
            loss = F.cross_entropy(logits, targets[rows])
        else:
            logits = model(tokens[:, :-1])
            loss = F.cross_entropy(logits.reshape(B * T, V), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    best = per_cpu = 0.0
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        best = max(best, steps * B * T / (time.perf_counter() - t0))
        per_cpu = max(per_cpu, steps * B * T / (time.process_time() - c0))
    return best, per_cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", type=int, default=2)
    ap.add_argument("-r", type=int, default=2)
    ap.add_argument("-t", type=int, action="append")
    ap.add_argument("-k", action="append")
    ap.add_argument("-H", action="append", choices=["all", "gather"])
    a = ap.parse_args()
    print("torch %s, %s" % (torch.__version__, torch.__config__.parallel_info().splitlines()[0]))
    for kind in a.k or ["lora-qkvo", "lora-all", "full"]:
        for head in a.H or ["all", "gather"]:
            for t in a.t or [1, 2]:
                best, per_cpu = run(kind, head, t, a.s, a.r)
                print("torch qwen3 %-9s head %-6s threads %d: %8.1f tokens/s  %8.1f per CPU-s"
                      % (kind, head, t, best, per_cpu), flush=True)


if __name__ == "__main__":
    main()
