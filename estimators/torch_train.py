"""Training and batched prediction for torch gaze networks: small plain functions.

A network here is any ``nn.Module`` called as ``net(x, head)`` with x (b, 1, h, w) float in [-1, 1]
and head (b, 2) float32 head pitch/yaw radians, returning (b, 3) gaze vectors. Images stay uint8
(possibly memory-mapped) until a batch is drawn: only one batch at a time is converted to float.
The loss is the L2 (squared Euclidean) distance between the output 3-vector and the unit gaze
vector, averaged over the batch; predictions are normalised to unit vectors afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from estimators.augment import augment_batch, preprocess
from estimators.base import UserError
from estimators.geometry import angular_error_deg, pitchyaw_to_vector
from torchkit.device import autocast, cudnn_deterministic, host_to_device
from torchkit.progress import progress_bar


def to_input(
    images: np.ndarray, input_hw: tuple[int, int], device: str, channels_last: bool
) -> torch.Tensor:
    """(b, 36, 60) uint8 or float32 grey levels -> (b, 1, h, w) float32 in [-1, 1] on ``device``,
    resized (bilinear, antialiased) to ``input_hw`` on the device."""
    # pinned host memory on CUDA (one non-blocking DMA per batch)
    x = host_to_device(np.asarray(images, dtype=np.float32), device)
    x = x.unsqueeze(1) / 127.5 - 1.0
    if tuple(x.shape[-2:]) != tuple(input_hw):
        x = F.interpolate(x, size=tuple(input_hw), mode="bilinear", antialias=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def split_rows(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of n rows into (train, val) sorted index arrays; val may be empty."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = int(round(n * val_fraction))
    if n - n_val < 1:
        raise ValueError(f"val_fraction={val_fraction} leaves no training rows out of {n}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def split_people(
    subject: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split that holds out whole people: (train, val) sorted row-index arrays.

    subject: (n,) int person index, -1 = unknown. About ``val_fraction`` of the known people (at
    least one, and at least one left to train on) go to validation with all their rows; rows of
    unknown people stay in training. With fewer than two known people (synthetic renders, where
    every image is its own draw) this is exactly :func:`split_rows`, so sources without people
    keep their row split. Why: one person's many views of one gaze target are near-identical, so a
    row split puts copies of a validation sample in training and picks epochs on memorisation.
    """
    subject = np.asarray(subject)
    n = len(subject)
    people = np.unique(subject[subject >= 0])
    if len(people) < 2 or val_fraction == 0.0:
        return split_rows(n, val_fraction, seed)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = min(len(people) - 1, max(1, int(round(len(people) * val_fraction))))
    held = np.random.default_rng(seed).permutation(people)[:n_val]
    is_val = np.isin(subject, held)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def validation_split(
    n: int, val_fraction: float, seed: int, subject: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) row indices: by person where ``subject`` (n,) names people, else by row."""
    if subject is None:
        return split_rows(n, val_fraction, seed)
    if len(subject) != n:
        raise ValueError(f"subject has {len(subject)} entries for {n} rows")
    return split_people(subject, val_fraction, seed)


def _take(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    # Sorted fancy indexing reads a memory map front to back; only these rows are loaded.
    order = np.argsort(idx)
    out = np.empty((len(idx),) + arr.shape[1:], arr.dtype)
    out[order] = arr[idx[order]]
    return out


@contextlib.contextmanager
def deterministic(enabled: bool = True):
    """torch.use_deterministic_algorithms for the block (warn-only where an op has no
    deterministic kernel) and cuDNN's deterministic kernels (on a GPU), restoring the caller's
    settings afterwards."""
    before = torch.are_deterministic_algorithms_enabled()
    before_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    try:
        with cudnn_deterministic(enabled):
            yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=before_warn)


def predict_vectors(
    net: torch.nn.Module,
    images: np.ndarray,
    head_pitchyaw_rad: np.ndarray,
    *,
    input_hw: tuple[int, int],
    device: str,
    bf16: bool,
    steps: tuple[str, ...] = (),
    batch_size: int = 512,
) -> np.ndarray:
    """Batched inference: (n, 36, 60) uint8 + (n, 2) head -> (n, 3) float32 unit gaze vectors."""
    net.eval()
    outs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            img = preprocess(np.asarray(images[start : start + batch_size]), steps)
            x = to_input(img, input_hw, device, channels_last=bf16)
            head = np.array(head_pitchyaw_rad[start : start + batch_size], dtype=np.float32)
            h = torch.from_numpy(head).to(device)  # a copy: memory maps are read-only
            with autocast(device, bf16):
                v = net(x, h)
            outs.append(F.normalize(v.float(), dim=1).cpu().numpy())
    return np.concatenate(outs).astype(np.float32)


def train_step(net, opt, x: torch.Tensor, h: torch.Tensor, target: torch.Tensor, device, bf16):
    """One optimiser step on the L2 loss to unit gaze vectors; returns the loss as a float."""
    opt.zero_grad(set_to_none=True)
    with autocast(device, bf16):
        out = net(x, h)
    loss = ((out.float() - target) ** 2).sum(1).mean()
    loss.backward()
    opt.step()
    return float(loss.detach())


def init_output_bias(net: torch.nn.Module, mean_vector: np.ndarray) -> None:
    """Start the last layer's bias at the mean training gaze vector (when the net exposes
    ``output_layer()``): gaze vectors are all near (0, 0, -1), so an untrained net would spend its
    first epoch learning that constant before the small x/y signal gets any gradient."""
    layer = getattr(net, "output_layer", None)
    if layer is not None and layer().bias is not None:
        with torch.no_grad():
            layer().bias.copy_(torch.as_tensor(mean_vector, dtype=layer().bias.dtype))


def make_optimizer(net, optimizer: str, lr: float, weight_decay: float, momentum: float = 0.9):
    if optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(
            net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
        )
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")


LR_SCHEDULES = ("constant", "cosine")
KEPT_WEIGHTS = ("best", "last", "ema")


def check_training_choices(lr_schedule: str, weights: str, ema_halflife: float) -> None:
    """UserError (one line) for an unknown ``lr_schedule`` / ``weights`` or a non-positive
    ``ema_halflife``: checked before a network is built, and again by :func:`fit_net`."""
    if lr_schedule not in LR_SCHEDULES:
        raise UserError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    if weights not in KEPT_WEIGHTS:
        raise UserError(f"weights must be 'best', 'last' or 'ema', got {weights!r}")
    try:
        halflife_ok = 0.0 < float(ema_halflife) < math.inf
    except (TypeError, ValueError):
        halflife_ok = False
    if not halflife_ok:
        raise UserError(
            f"ema_halflife must be > 0 (a fraction of the optimiser steps), got {ema_halflife!r}"
        )


def cosine_lr(lr: float, step: int, total: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of ``total``: ``lr`` at step 0,
    then half a cosine down to 0 at step ``total`` (the last step runs at about
    lr * pi^2 / (4 total^2))."""
    return 0.5 * lr * (1.0 + math.cos(math.pi * step / total))


def ema_decay_for(ema_halflife: float, total_steps: int) -> float:
    """Per-step decay of an average whose half-life is ``ema_halflife`` x ``total_steps`` steps.

    A fraction of the budget rather than a fixed decay (0.999, say): the budgets here run from
    tens of steps (tests, smoke profiles) to ~10^5 (5.4 M images at batch 64). A fixed 0.999
    averages the last ~1,000 steps: in a short run that is longer than the run (the average
    stays near the random init), in the full run it is 1 % of training (too little to steady
    anything). A half-life in budget units covers the same share of training at every scale, as
    ``train_samples`` keeps the optimisation the same for 1x and 4x data."""
    return 0.5 ** (1.0 / max(ema_halflife * total_steps, 1e-12))


class WeightAverage:
    """An exponential moving average of a network's weights, one update per optimiser step.

    ``net``: a frozen copy holding the average, started at the weights it is given. Buffers are
    averaged too (BatchNorm running means and variances, as timm's ModelEmaV2 does), so running
    statistics follow the averaged weights rather than the last step's; integer buffers
    (``num_batches_tracked``) are copied. The paper net and Zhang et al.'s LeNet have no buffers;
    timm backbones do."""

    def __init__(self, net: torch.nn.Module, decay: float):
        self.net = copy.deepcopy(net).requires_grad_(False)
        self.decay = float(decay)

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        """average <- decay * average + (1 - decay) * net, entry by entry."""
        # state_dict() tensors share storage with the modules: updating them in place updates
        # the average's weights and buffers
        pairs = zip(self.net.state_dict().values(), net.state_dict().values(), strict=True)
        for avg, cur in pairs:
            if avg.is_floating_point():
                avg.lerp_(cur.to(avg.dtype), 1.0 - self.decay)
            else:
                avg.copy_(cur)


def fit_net(
    net: torch.nn.Module,
    images: np.ndarray,
    head_pitchyaw_rad: np.ndarray,
    gaze_pitchyaw_rad: np.ndarray,
    *,
    input_hw: tuple[int, int],
    device: str,
    bf16: bool,
    seed: int,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    val_fraction: float = 0.1,
    steps: tuple[str, ...] = (),
    progress: bool = True,
    subject: np.ndarray | None = None,
    lr_schedule: str = "constant",
    weights: str = "best",
    ema_halflife: float = 0.1,
) -> dict:
    """Train ``net`` in place and leave in it the weights ``weights`` says.

    subject: optional (n,) person index; validation then holds out whole people
    (:func:`validation_split`).
    lr_schedule: "constant" (``lr`` throughout) or "cosine" (:func:`cosine_lr`, per optimiser
        step from ``lr`` to 0 over the whole budget, epochs x batches).
    weights: "best" (the best validation epoch's; the last epoch's without validation rows),
        "last" (the final step's) or "ema" (:class:`WeightAverage` over the optimiser steps, its
        half-life ``ema_halflife`` x the budget's steps, :func:`ema_decay_for`). With "last" and
        "ema" validation picks nothing: its error is still recorded, of the weights kept.
    Returns {"history": [{epoch, train_loss, val_err_deg}], "best_epoch" (None unless
    weights="best"), "train_images_per_s", "n_fit" (rows the weights were trained on),
    "n_steps" (optimiser steps of the budget), "ema_decay" (per step; None unless "ema")}.
    """
    check_training_choices(lr_schedule, weights, ema_halflife)
    train_idx, val_idx = validation_split(len(images), val_fraction, seed, subject)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = make_optimizer(net, optimizer, lr, weight_decay)
    target_all = pitchyaw_to_vector(np.asarray(gaze_pitchyaw_rad, dtype=np.float32))
    init_output_bias(net, target_all[train_idx].mean(0))
    history, best, best_err, best_epoch = [], None, np.inf, epochs - 1
    n_batches = (len(train_idx) + batch_size - 1) // batch_size
    n_steps = epochs * n_batches
    # Why "cosine" and "ema": with a constant lr the weights still jump from step to step at the
    # end, and picking the epoch that validates best on in-domain rows adds the split's noise on
    # top; a decayed lr and an average of the late weights end where training settles instead.
    average = WeightAverage(net, ema_decay_for(ema_halflife, n_steps)) if weights == "ema" else None
    kept = net if average is None else average.net  # the weights validation measures
    seen, train_s, step = 0, 0.0, 0
    bar = progress_bar(total=n_steps, enabled=progress, desc="cnn", unit="batch", leave=False)
    for epoch in range(epochs):
        net.train()
        order = train_idx[torch.randperm(len(train_idx), generator=gen).numpy()]
        losses = []
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            t0 = time.perf_counter()
            img = augment_batch(preprocess(_take(images, idx), steps), steps, rng)
            x = to_input(img, input_hw, device, channels_last=bf16)
            h = torch.from_numpy(_take(head_pitchyaw_rad, idx)).float().to(device)
            y = torch.from_numpy(target_all[idx]).to(device)
            if lr_schedule == "cosine":
                for group in opt.param_groups:
                    group["lr"] = cosine_lr(lr, step, n_steps)
            losses.append(train_step(net, opt, x, h, y, device, bf16))
            if average is not None:
                average.update(net)
            step += 1
            train_s += time.perf_counter() - t0
            seen += len(idx)
            bar.update(1)
            bar.set_postfix(
                loss=f"{losses[-1]:.4f}", val_err=history[-1]["val_err_deg"] if history else None
            )
        val_err = None
        if len(val_idx):
            pred = predict_vectors(
                kept, _take(images, val_idx), _take(head_pitchyaw_rad, val_idx),
                input_hw=input_hw, device=device, bf16=bf16, steps=steps,
            )  # fmt: skip
            val_err = float(angular_error_deg(pred, target_all[val_idx]).mean())
            if weights == "best" and val_err < best_err:
                best_err, best_epoch = val_err, epoch
                best = copy.deepcopy(net.state_dict())
        history.append(
            {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_err_deg": val_err}
        )
        bar.set_postfix(loss=f"{history[-1]['train_loss']:.4f}", val_err=val_err)
    bar.close()
    if best is not None:
        net.load_state_dict(best)
    if average is not None:
        net.load_state_dict(average.net.state_dict())
    return {
        "history": history,
        "best_epoch": best_epoch if weights == "best" else None,
        "train_images_per_s": seen / max(train_s, 1e-9),
        "n_fit": int(len(train_idx)),
        "n_steps": int(n_steps),
        "ema_decay": None if average is None else average.decay,
    }


def measure_train_images_per_s(
    net: torch.nn.Module,
    *,
    input_hw,
    device: str,
    bf16: bool,
    batch_size: int = 64,
    n_steps: int = 5,
) -> float:
    """Training throughput (images/s) of ``net`` on random uint8 batches, after one warm-up step.

    Includes input conversion and resize, as in :func:`fit_net`."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size, 36, 60), dtype=np.uint8)
    head = torch.zeros(batch_size, 2, device=device)
    target = F.normalize(torch.randn(batch_size, 3), dim=1).to(device)
    opt = make_optimizer(net, "adam", 1e-4, 0.0)
    net.train()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for i in range(n_steps + 1):
        if i == 1:
            sync()
            t0 = time.perf_counter()
        x = to_input(images, input_hw, device, channels_last=bf16)
        train_step(net, opt, x, head, target, device, bf16)
    sync()
    return n_steps * batch_size / (time.perf_counter() - t0)
