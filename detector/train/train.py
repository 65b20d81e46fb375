"""train.py - train the NPR detector (model.NPR) from scratch.

    python3 train.py --out DIR [--data DATA_ROOT] [--minutes M] [--steps N] ...

Data: data.py (the manifest, the split by source, the re-encoding pipeline
both classes share) and synth.py (AutoGAN-style synthetic fakes made from
the real training photos).  A batch is half real, half fake; a fake is a
synthetic one with probability --synth-p.  Training runs on small crops
(--crop, even-aligned, never resized: the network is fully convolutional
with global pooling), then the last --final-frac of the run on --final-crop
crops, the size the C inference uses.  Progress is max(step / steps,
elapsed / minutes), so a time budget ends the run on schedule; the
learning rate follows a cosine of it after a short warm-up.

Writes DIR/ckpt.pth ({"model": state_dict, "temperature": 1.0, "meta":
{...}, "step": n}; export.py and convert_pth.py read it), DIR/run.json
(arguments, seeds, versions, the split with sha256, timing) and
DIR/train_log.jsonl, rewriting the checkpoint every --ckpt-every seconds.
"""

import argparse
import concurrent.futures
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import model as npr_model  # noqa: E402
import synth  # noqa: E402


class Patches(torch.utils.data.IterableDataset):
    """An endless stream of (crop uint8 HWC, label, kind) with kind 0 real,
    1 fake from the data set, 2 synthetic fake."""

    def __init__(self, reals, fakes, synth_imgs, size, seed, synth_p):
        self.reals, self.fakes, self.synth = reals, fakes, synth_imgs
        self.size, self.seed, self.synth_p = size, seed, synth_p
        self.wr = data.file_weights([r for r, _ in reals])
        self.wf = data.file_weights([r for r, _ in fakes])

    def __iter__(self):
        wi = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, self.size, wi.id if wi else 0])
        while True:
            fake = rng.random() < 0.5
            if fake and self.synth is not None and rng.random() < self.synth_p:
                img, kind = self.synth[int(rng.integers(0, len(self.synth)))], 2
            elif fake:
                img, kind = self.fakes[int(rng.choice(len(self.fakes), p=self.wf))][1], 1
            else:
                img, kind = self.reals[int(rng.choice(len(self.reals), p=self.wr))][1], 0
            c = data.sample_crop(img, self.size, rng)
            if c is None:
                continue
            yield torch.from_numpy(c), int(fake), kind


def decode_all(root, rows, threads):
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        imgs = list(ex.map(lambda r: data.decode(data.file_path(root, r)), rows))
    return list(zip(rows, imgs))


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", default=None,
                    help="a data folder with a MANIFEST.tsv (repeatable; default ../shared/data/detector and, "
                         "where gather.py made it, ../detdata)")
    ap.add_argument("--rescale-p", type=float, default=data.RESCALE_P,
                    help="share of crops cut from a down-scaled region (both classes alike)")
    ap.add_argument("--rescale-min", type=float, default=data.RESCALE_F[0],
                    help="smallest down-scale factor of such a region")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=10.0, help="time budget of the training loop")
    ap.add_argument("--steps", type=int, default=20000, help="step budget (whichever ends first)")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--final-crop", type=int, default=256)
    ap.add_argument("--final-batch", type=int, default=64)
    ap.add_argument("--final-frac", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synth-p", type=float, default=0.3)
    ap.add_argument("--synth-n", type=int, default=3000)
    ap.add_argument("--synth-steps", type=int, default=150)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-files", type=int, default=0, help="smoke test: use only this many files per class")
    ap.add_argument("--ckpt-every", type=float, default=60.0)
    ap.add_argument("--init", default=None, help="start from this checkpoint (or .provnpr weights) instead of from scratch")
    ap.add_argument("--end-at", default=None,
                    help="UTC wall-clock end of the training loop (YYYY-mm-ddTHH:MM); shortens --minutes when "
                         "the synthetic generators took longer than expected")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args(argv)

    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    dev = torch.device(a.device)
    logf = open(os.path.join(a.out, "train_log.jsonl"), "a")

    def log(msg, **kw):
        kw.setdefault("t", round(time.time() - t_start, 1))
        if msg:
            kw["msg"] = msg
        logf.write(json.dumps(kw) + "\n")
        logf.flush()
        print(json.dumps(kw), flush=True)

    if not a.data:
        a.data = [data.DEFAULT_ROOT] + ([data.EXTRA_ROOT] if os.path.exists(data.EXTRA_ROOT) else [])
    # module settings the crop sampler reads (the loader's workers fork after this)
    data.RESCALE_P, data.RESCALE_F = a.rescale_p, (a.rescale_min, 1.0)
    rows = data.load_all(a.data)
    train_rows, val_rows = data.split(rows)
    reals = [r for r in train_rows if r["label"] == 0]
    fakes = [r for r in train_rows if r["label"] == 1]
    if a.max_files:
        reals, fakes = reals[:a.max_files], fakes[:a.max_files]
    reals = decode_all(a.data[0], reals, max(a.workers, 2))
    fakes = decode_all(a.data[0], fakes, max(a.workers, 2))
    log("decoded", reals=len(reals), fakes=len(fakes))

    synth_cache, synth_log = None, []
    if a.synth_p > 0:
        ae = synth.train_models([im for _, im in reals], dev, seed=a.seed, steps=a.synth_steps,
                                log=lambda m: (synth_log.append(m), log(m)))
        size = a.final_crop + data.MARGIN + 16
        synth_cache, _ = synth.make_cache(ae, [im for _, im in reals if min(im.shape[:2]) >= size],
                                          a.synth_n, size, dev, seed=a.seed + 1)
        del ae
        log("synth cache", n=len(synth_cache), size=size)

    net = npr_model.NPR()
    if a.init and a.init.endswith(".provnpr"):
        # fine-tune a shipped model: its tensors are the state_dict (f16 widens exactly)
        import weights
        _, t = weights.read(a.init)
        sd = net.state_dict()
        net.load_state_dict({k: torch.tensor(t[k]) if k in t else v for k, v in sd.items()})
    elif a.init:
        import export
        ck = export.load_torch(a.init)
        net.load_state_dict(ck["model"] if "model" in ck else ck)
    net = net.to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.wd)
    mean = torch.tensor(npr_model.MEAN, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(npr_model.STD, device=dev).view(1, 3, 1, 1)
    amp = dev.type == "cuda"

    record = {
        "id": os.path.basename(os.path.abspath(a.out)),
        "args": vars(a),
        "versions": {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
                     "pil": __import__("PIL").__version__,
                     "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else platform.processor()},
        "pipeline": {"jpeg_p": data.JPEG_P, "jpeg_q": data.JPEG_Q, "subsampling": "4:2:0",
                     "rescale_p": data.RESCALE_P, "rescale_f": data.RESCALE_F, "margin": data.MARGIN,
                     "flip": 0.5, "flat_band_rule": ">=2 flat full rows or cols (range <= 3) -> redraw"},
        "val_sources": {"real": list(data.VAL_REAL), "fake": list(data.VAL_FAKE)},
        "train_files": [[r["class"], r["path"], r["source"], r["sha256"]] for r, _ in reals + fakes],
        "val_files": [[r["class"], r["path"], r["source"], r["sha256"]] for r in val_rows],
        "synth": synth_log,
    }

    def checkpoint(step, final=False):
        sd = {k: v.detach().float().cpu() for k, v in net.state_dict().items()}
        meta = {"training_record": record["id"], "step": int(step)}
        save_atomic({"model": sd, "temperature": 1.0, "meta": meta, "step": int(step)},
                    os.path.join(a.out, "ckpt.pth"))
        record["steps"] = int(step)
        record["wall_s"] = round(time.time() - t_start, 1)
        record["final"] = final
        with open(os.path.join(a.out, "run.json.tmp"), "w") as f:
            json.dump(record, f, indent=1)
        os.replace(os.path.join(a.out, "run.json.tmp"), os.path.join(a.out, "run.json"))

    def loader(size, batch):
        ds = Patches(reals, fakes, synth_cache, size, a.seed, a.synth_p)
        return iter(torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=a.workers,
                                                pin_memory=dev.type == "cuda",
                                                prefetch_factor=4 if a.workers else None))

    t0 = time.time()
    budget = a.minutes * 60.0
    if a.end_at:
        import datetime
        end = datetime.datetime.strptime(a.end_at, "%Y-%m-%dT%H:%M").replace(tzinfo=datetime.timezone.utc)
        budget = min(budget, end.timestamp() - t0)
        record["budget_s"] = round(budget, 1)
        log("budget", seconds=round(budget, 1))
    phase = 0
    it = loader(a.crop, a.batch)
    step, last_ck, crops = 0, time.time(), 0
    acc_sum = {"loss": 0.0, "n": 0, "ok": [0, 0, 0], "cnt": [0, 0, 0]}
    net.train()
    while True:
        progress = max(step / a.steps, (time.time() - t0) / budget)
        if progress >= 1.0:
            break
        if phase == 0 and progress >= 1.0 - a.final_frac and a.final_frac > 0:
            phase = 1
            del it
            it = loader(a.final_crop, a.final_batch)
            log("phase 2", step=step, crop=a.final_crop, batch=a.final_batch)
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        for g in opt.param_groups:
            g["lr"] = lr
        u8, y, kind = next(it)
        u8 = u8.to(dev, non_blocking=True)
        y = y.to(dev, non_blocking=True).float().unsqueeze(1)
        x = ((u8.permute(0, 3, 1, 2).float() / 255.0 - mean) / std).contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            logit = net(x)
        loss = F.binary_cross_entropy_with_logits(logit.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        crops += len(y)
        acc_sum["loss"] += loss.item() if step % 10 == 0 else 0.0
        acc_sum["n"] += 1 if step % 10 == 0 else 0
        if step % 10 == 0:
            ok = ((logit.detach().float() > 0).float() == y)[:, 0].cpu()
            for k in range(3):
                sel = kind == k
                acc_sum["ok"][k] += int(ok[sel].sum())
                acc_sum["cnt"][k] += int(sel.sum())
        if step % 200 == 0:
            el = time.time() - t0
            log(None, step=step, lr=round(lr, 6), loss=round(acc_sum["loss"] / max(1, acc_sum["n"]), 4),
                acc_real=round(acc_sum["ok"][0] / max(1, acc_sum["cnt"][0]), 3),
                acc_fake=round(acc_sum["ok"][1] / max(1, acc_sum["cnt"][1]), 3),
                acc_synth=round(acc_sum["ok"][2] / max(1, acc_sum["cnt"][2]), 3),
                crops_per_s=round(crops / el, 1), progress=round(progress, 3))
            acc_sum = {"loss": 0.0, "n": 0, "ok": [0, 0, 0], "cnt": [0, 0, 0]}
        if time.time() - last_ck > a.ckpt_every:
            checkpoint(step)
            last_ck = time.time()
    record["train_loop_s"] = round(time.time() - t0, 1)
    record["crops_seen"] = crops
    checkpoint(step, final=True)
    log("done", step=step, crops=crops)


if __name__ == "__main__":
    main()
