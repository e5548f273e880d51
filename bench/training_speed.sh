#!/usr/bin/env bash
# Training throughput, plaster against PyTorch eager, side by side (issue 7's target: ResNet-50 at
# batch 32, fp32, 2 threads, ≥ 1.0× PyTorch 1.13 eager; bf16 ≥ 1.5× fp32). torchvision's
# resnet50 (random weights, seed 0) is exported with its BatchNormalization nodes kept
# (TrainingMode.PRESERVE), and trained on SAMPLES random images with random labels:
#   - plaster learn, fp32 then bf16 (steady state: every step but the first 5);
#   - PyTorch eager, train mode, SGD (momentum 0.9, weight decay 5e-4), fp32 then
#     torch.autocast("cpu", torch.bfloat16), the same batches and steps, timed the same way.
# Rounds alternate the four, ROUNDS times; prints each one's median samples/s.
#   ROUNDS=2 EPOCHS=4 SAMPLES=96 BATCH=32 THREADS=2 bench/training_speed.sh [build/release]
set -euo pipefail
build="${1:-build/release}"
rounds="${ROUNDS:-2}"
epochs="${EPOCHS:-4}"
samples="${SAMPLES:-96}"
batch="${BATCH:-32}"
threads="${THREADS:-2}"
plaster="$build/plaster"
out=$(mktemp -d)
/usr/bin/python3 - "$out" "$samples" "$batch" <<'PY'
import sys, warnings
import numpy as np, torch, torchvision
out, samples, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
m = torchvision.models.resnet50(weights=None).eval()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.onnx.export(m, (torch.zeros(1, 3, 224, 224),), f"{out}/resnet50.onnx", opset_version=13,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
torch.save(m.state_dict(), f"{out}/resnet50.pt")
rng = np.random.default_rng(0)
x = rng.standard_normal((samples, 3, 224, 224), dtype=np.float32)
y = rng.integers(0, 1000, samples).astype(np.int64)
np.savez(f"{out}/train.npz", input=x, labels=y)
np.savez(f"{out}/val.npz", input=x[:batch], labels=y[:batch])
PY
cat > "$out/pytorch_train.py" <<'PY'
import sys, time
import numpy as np, torch, torchvision
out, epochs, batch, threads, precision = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
m = torchvision.models.resnet50(weights=None)
m.load_state_dict(torch.load(f"{out}/resnet50.pt"))
m.train()
d = np.load(f"{out}/train.npz")
x, y = torch.from_numpy(d["input"]), torch.from_numpy(d["labels"])
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
steps, seconds, done = len(x) // batch, 0.0, 0
for _ in range(epochs):
    perm = torch.randperm(len(x))
    for s in range(steps):
        idx = perm[s * batch:(s + 1) * batch]
        t0 = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
            logits = m(x[idx])
        loss = torch.nn.functional.cross_entropy(logits.float(), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        done += 1
        if done > 5:
            seconds += dt
print(f"{(done - 5) * batch / seconds:.3f}")
PY
configs=(fp32 bf16)
for ((r = 1; r <= rounds; r++)); do
  for p in "${configs[@]}"; do
    "$plaster" learn "$out/resnet50.onnx" --data "$out/train.npz" --val "$out/val.npz" \
      --batch "$batch" --epochs "$epochs" --lr 0.01 --threads "$threads" --precision "$p" --json \
      2>/dev/null >"$out/plaster.$p.$r.json"
    /usr/bin/python3 "$out/pytorch_train.py" "$out" "$epochs" "$batch" "$threads" "$p" \
      >"$out/pytorch.$p.$r.txt"
  done
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for p in ("fp32", "bf16"):
    rows[("plaster", p)] = [json.load(open(f"{out}/plaster.{p}.{r}.json"))["samples_per_s"] for r in range(1, rounds + 1)]
    rows[("pytorch", p)] = [float(open(f"{out}/pytorch.{p}.{r}.txt").read()) for r in range(1, rounds + 1)]
print("| trainer | precision | median samples/s | rounds |")
print("|---|---|---|---|")
for (who, p), v in rows.items():
    print(f"| {who} | {p} | {statistics.median(v):.2f} | {', '.join(f'{x:.2f}' for x in v)} |")
med = {k: statistics.median(v) for k, v in rows.items()}
print(f"\nplaster / PyTorch eager, fp32: {med[('plaster', 'fp32')] / med[('pytorch', 'fp32')]:.2f}x; "
      f"bf16: {med[('plaster', 'bf16')] / med[('pytorch', 'bf16')]:.2f}x")
print(f"bf16 / fp32: plaster {med[('plaster', 'bf16')] / med[('plaster', 'fp32')]:.2f}x, "
      f"PyTorch {med[('pytorch', 'bf16')] / med[('pytorch', 'fp32')]:.2f}x")
PY
