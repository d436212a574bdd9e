"""LLM text watermark: detection strength, quality cost, and the logits processor's share of generation.

numbers.md, LLM text: z >= 4 within 200 tokens; still detected after 20 % of tokens replaced;
perplexity increase <= 10 %; logits overhead <= 5 % of generation time.

* Quality: the green-list processor on the word-bigram LM of tests/watermark/textlm.py (trained on
  /usr/share/common-licenses): z at 200 tokens, z after 20 % of tokens replaced, z of unmarked
  text, and perplexity under the clean LM (50 generations each).
* Overhead: a GPT-2-small-sized decoder in plain torch (12 layers, 768 wide, 12 heads, 50,257-token
  vocabulary, tied embeddings, 124 M parameters) generates 200 tokens after a 16-token prompt with a
  KV cache, sampling on the CPU, with and without ``GreenListProcessor`` on the torch logits. The
  weights are random (no download here); a step costs the same whatever their values. The runs
  alternate (plain, marked, plain, ...) on the same seeds so that machine noise hits both; the table
  gives medians of CPU time (the machine is shared: wall time would mostly measure the neighbours),
  the end-to-end ratio, and the processor's own time measured inside the marked runs as a share of
  them (the figure the target is about; the end-to-end ratio is its noisier check).
  No transformers here: the model is written out so the benchmark needs only torch (bench extra).

    python benchmarks/watermark_text.py [--tokens 200] [--repeats 5] [--batches 1,8] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tests.watermark.textlm import BigramLM

from synthguard.watermark.text import GreenListProcessor, detect_tokens

KEY = bytes(range(32))
VOCAB = 50_257  # GPT-2's
LAYERS, WIDTH, HEADS, CONTEXT = 12, 768, 12, 1024


def run_quality() -> None:
    lm = BigramLM.from_system()
    proc = GreenListProcessor(KEY, lm.size)
    z200, z_edit, ppl_plain, ppl_marked = [], [], [], []
    for seed in range(50):
        rng = np.random.default_rng(seed)
        start = int(rng.integers(lm.size))
        plain = lm.generate(200, np.random.default_rng(10_000 + seed), start=start)
        tokens = lm.generate(200, rng, proc, start=start)
        z200.append(detect_tokens(tokens, KEY, lm.size).z)
        edited = list(tokens)
        for i in rng.choice(len(edited), size=len(edited) // 5, replace=False):
            edited[i] = int(rng.integers(lm.size))
        z_edit.append(detect_tokens(edited, KEY, lm.size).z)
        ppl_plain.append(lm.perplexity(plain))
        ppl_marked.append(lm.perplexity(tokens))
    plain_z = [
        detect_tokens(lm.generate(200, np.random.default_rng(20_000 + s)), KEY, lm.size).z for s in range(50)
    ]
    ratio = statistics.mean(ppl_marked) / statistics.mean(ppl_plain)
    print(
        f"Text watermark quality (green list, gamma={proc.gamma}, delta={proc.delta}; "
        f"word-bigram LM, vocab {lm.size}, 50 texts of 200 tokens)"
    )
    print(f"  z at 200 tokens:               median {statistics.median(z200):5.1f}, min {min(z200):5.1f}"
          "  (target >= 4)")  # fmt: skip
    print(f"  z after 20% of tokens replaced: median {statistics.median(z_edit):5.1f}, "
          f"min {min(z_edit):5.1f}  (target >= 4)")  # fmt: skip
    print(
        f"  z of unwatermarked text:        median {statistics.median(plain_z):5.1f}, max {max(plain_z):5.1f}"
    )
    print(
        f"  perplexity (clean LM): plain {statistics.mean(ppl_plain):.1f}, watermarked "
        f"{statistics.mean(ppl_marked):.1f} ({100 * (ratio - 1):+.1f}%, target <= +10%)"
    )


def build_model() -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.qkv, self.proj = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
            self.fc, self.out = nn.Linear(WIDTH, 4 * WIDTH), nn.Linear(4 * WIDTH, WIDTH)

        def forward(self, x: Any, past: Any) -> tuple[Any, Any]:
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, HEADS, WIDTH // HEADS).permute(2, 0, 3, 1, 4)
            if past is not None:
                k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=past is None and t > 1)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, WIDTH))
            x = x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))
            return x, (k, v)

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte, self.wpe = nn.Embedding(VOCAB, WIDTH), nn.Embedding(CONTEXT, WIDTH)
            self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
            self.ln_f = nn.LayerNorm(WIDTH)
            for p in self.parameters():
                if p.dim() > 1:
                    nn.init.normal_(p, std=0.02)  # GPT-2's initialisation

        def forward(self, ids: Any, cache: list[Any] | None) -> tuple[Any, list[Any]]:
            offset = 0 if cache is None else cache[0][0].shape[2]
            pos = torch.arange(offset, offset + ids.shape[1])
            h = self.wte(ids) + self.wpe(pos)
            new_cache = []
            for i, block in enumerate(self.blocks):
                h, kv = block(h, None if cache is None else cache[i])
                new_cache.append(kv)
            return self.ln_f(h) @ self.wte.weight.T, new_cache

    model = GPT().eval()
    return model


def generate(
    model: Any, prompt: Any, tokens: int, proc: GreenListProcessor | None, seed: int
) -> tuple[float, float]:
    """Sample ``tokens`` tokens; return (total seconds, seconds spent in the processor)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    in_proc = 0.0
    started = time.process_time()
    with torch.inference_mode():
        logits, cache = model(prompt, None)
        ids = prompt
        for _ in range(tokens):
            scores = logits[:, -1, :]
            if proc is not None:
                t = time.process_time()
                scores = proc(ids, scores)
                in_proc += time.process_time() - t
            nxt = torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=gen)
            ids = torch.cat([ids, nxt], dim=1)
            logits, cache = model(nxt, cache)
    return time.process_time() - started, in_proc


def run_overhead(tokens: int, repeats: int, batches: list[int], threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model()
    params = sum(p.numel() for p in model.parameters())
    proc = GreenListProcessor(KEY, VOCAB)
    print(
        f"\nLogits overhead: GPT-2-small-sized decoder ({params / 1e6:.0f} M parameters, vocab {VOCAB}), "
        f"{tokens} tokens after a 16-token prompt, KV cache, CPU, {threads} thread(s), "
        f"{repeats} alternating runs each; CPU seconds of this process"
    )
    header = (
        f"  {'batch':>5} {'plain s':>8} {'marked s':>9} {'ms/step':>8} {'proc us/step':>13}"
        f" {'proc share':>11} {'end-to-end':>11}"
    )
    print(header)
    for batch in batches:
        prompt = torch.randint(0, VOCAB, (batch, 16), generator=torch.Generator().manual_seed(batch))
        generate(model, prompt, 8, proc, 0)  # warm-up: allocator, kernels, the processor's tables
        plain, marked, shares, per_step = [], [], [], []
        for r in range(repeats):
            plain.append(generate(model, prompt, tokens, None, r)[0])
            total, in_proc = generate(model, prompt, tokens, proc, r)
            marked.append(total)
            shares.append(in_proc / total)
            per_step.append(in_proc / tokens)
        p, m = statistics.median(plain), statistics.median(marked)
        print(
            f"  {batch:>5} {p:>8.2f} {m:>9.2f} {1e3 * p / tokens:>8.1f} "
            f"{1e6 * statistics.median(per_step):>13.0f} {100 * statistics.median(shares):>10.2f}%"
            f" {100 * (m / p - 1):>+10.1f}%"
        )
    print("  target: logits overhead <= 5% of generation time (proc share; end-to-end is the noisy check)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (numbers.md: one core)")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    if not args.skip_quality:
        run_quality()
    batches = [int(b) for b in args.batches.split(",") if b]
    run_overhead(args.tokens, args.repeats, batches, args.threads)


if __name__ == "__main__":
    main()
