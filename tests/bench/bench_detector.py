"""bench_detector.py - images per second of the NPR model in PyTorch, for
comparison with the C path (bench_detector.c); run by bench_detector.sh.

usage: python3 bench_detector.py WEIGHTS [BATCH [THREADS [SECONDS [MODE]]]]
MODE: eager (NCHW), channels_last, frozen (torch.jit.trace + freeze +
optimize_for_inference: batch norm folded, oneDNN convolutions), or all
(default).  The same weights as the C side (read from the PROVNPR1 file),
eval mode, no_grad, torch.set_num_threads(THREADS).  The timed loop starts
from uint8 HWC images and includes the normalisation, as the C path does.
cuda (channels_last on the GPU, TF32 allowed as PyTorch allows it for
convolutions) and cuda_fp16 (the same in float16) run on the GPU; their
loop copies the uint8 images from pinned host memory each time, as the C
CUDA path does.  Prints one JSON line per mode."""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "detector", "train"))

import torch  # noqa: E402

import model as npr_model  # noqa: E402
import weights  # noqa: E402


def load(path):
    _, ts = weights.read(path)
    m = npr_model.NPR()
    sd = m.state_dict()
    for k in sd:
        if k in ts:
            sd[k] = torch.from_numpy(ts[k].copy())
    m.load_state_dict(sd)
    return m.eval()


def main():
    path = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    mode = sys.argv[5] if len(sys.argv) > 5 else "all"
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(1)
    u8 = torch.randint(0, 256, (batch, 256, 256, 3), dtype=torch.uint8, generator=g)
    modes = ["eager", "channels_last", "frozen"] if mode == "all" else [mode]
    for md in modes:
        m = load(path)
        prep = npr_model.normalize
        with torch.no_grad():
            if md.startswith("cuda"):
                dt = torch.float16 if md == "cuda_fp16" else torch.float32
                m = m.cuda().to(dtype=dt, memory_format=torch.channels_last)
                host = u8.pin_memory()
                mean = torch.tensor(npr_model.MEAN, dtype=torch.float32).view(1, 3, 1, 1).cuda()
                std = torch.tensor(npr_model.STD, dtype=torch.float32).view(1, 3, 1, 1).cuda()

                def prep(x, host=host, mean=mean, std=std, dt=dt):
                    g = host.cuda(non_blocking=True).permute(0, 3, 1, 2).to(torch.float32) / 255.0
                    return ((g - mean) / std).to(dt).contiguous(memory_format=torch.channels_last)
            elif md == "channels_last":
                m = m.to(memory_format=torch.channels_last)
                prep = lambda x: npr_model.normalize(x).contiguous(memory_format=torch.channels_last)  # noqa: E731
            elif md == "frozen":
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    m = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(m, prep(u8))))
            sync = torch.cuda.synchronize if md.startswith("cuda") else (lambda: None)
            run = lambda: m(prep(u8))  # noqa: E731
            out = run()
            run()
            sync()
            c0, t0, n = time.process_time(), time.perf_counter(), 0
            while True:
                out = run()
                n += batch
                sync()
                t = time.perf_counter()
                if t - t0 >= secs:
                    break
            cpu = time.process_time() - c0
        print(json.dumps({"impl": "torch-" + md, "torch": torch.__version__, "batch": batch,
                          "threads": threads, "images": n, "seconds": round(t - t0, 3),
                          "cpu_seconds": round(cpu, 3), "images_per_s": round(n / (t - t0), 3),
                          "logit0": round(float(out[0, 0]), 6)}), flush=True)


if __name__ == "__main__":
    main()
