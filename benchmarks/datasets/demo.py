"""Procedural, seeded renderer of the demo eye domain (36x60 uint8 grayscale, left-eye patches).

A parametric eyeball sits behind an eye opening attached to the head. The iris and pupil are
ellipses placed and foreshortened by the gaze direction (orthographic projection of a disc on the
eyeball whose normal is the gaze); the lids open with the eye-in-head pitch; the eyeball shifts
against the lids with head pose. Labels are exact by construction, in the MPIIGaze convention:
positive pitch moves the pupil up, positive yaw moves it toward the image left.

Everything is vectorised over the batch (arrays (B, 36, 60) float32); only blur and JPEG loop per
image through OpenCV. Images come in fixed blocks of ``BLOCK`` with child seeds, so the first k
images for a seed are the same whatever n is asked for.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmarks.datasets.demo_looks import DOMAINS, LOOKS, Look
from estimators.base import UserError

H, W = 36, 60
BLOCK = 1024
_U = (np.arange(W, dtype=np.float32) + 0.5)[None, None, :]
_V = (np.arange(H, dtype=np.float32) + 0.5)[None, :, None]
_DOMAIN_SALT = {name: i + 1 for i, name in enumerate(DOMAINS)}


def _dist(rng: np.random.Generator, d, n: int) -> np.ndarray:
    mean, std, lo, hi = d
    x = rng.uniform(lo, hi, n) if std is None else np.clip(rng.normal(mean, std, n), lo, hi)
    return np.deg2rad(x).astype(np.float32)


def _col(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)[:, None, None]


def _soft(signed_dist: np.ndarray, edge_px: float) -> np.ndarray:
    """Coverage of a shape from a signed distance (negative inside), anti-aliased over edge_px."""
    return np.clip(0.5 - signed_dist / edge_px, 0.0, 1.0)


def _subject_traits(look: Look, seed: int) -> dict[str, np.ndarray]:
    """Per-person appearance that stays fixed across that person's images."""
    rng = np.random.default_rng([seed, 7919])
    k = look.n_subjects
    return {
        "skin": rng.uniform(*look.skin_level, k),
        "iris": rng.uniform(*look.iris_level, k),
        "half_width": rng.uniform(*look.eye_half_width_px, k),
        "open": rng.uniform(0.36, 0.52, k),
        "tilt": rng.normal(0.0, 0.05, k),
    }


def sample_params(
    look: Look, rng: np.random.Generator, n: int, traits=None
) -> dict[str, np.ndarray]:
    """Labels and per-image scene/camera parameters for n images."""
    p = {
        "gaze_pitch": _dist(rng, look.gaze_pitch, n),
        "gaze_yaw": _dist(rng, look.gaze_yaw, n),
        "head_pitch": _dist(rng, look.head_pitch, n),
        "head_yaw": _dist(rng, look.head_yaw, n),
    }
    if look.n_subjects:
        s = rng.integers(0, look.n_subjects, n)
        jitter = lambda scale: rng.normal(1.0, scale, n)  # noqa: E731
        p["subject"] = s.astype(np.int32)
        p["skin"] = traits["skin"][s] * jitter(0.04)
        p["iris"] = traits["iris"][s] * jitter(0.04)
        p["half_width"] = traits["half_width"][s] * jitter(0.02)
        p["open"] = traits["open"][s] * jitter(0.05)
        p["tilt"] = traits["tilt"][s] + rng.normal(0, 0.01, n)
    else:
        p["subject"] = np.full(n, -1, np.int32)
        p["skin"] = rng.uniform(*look.skin_level, n)
        p["iris"] = rng.uniform(*look.iris_level, n)
        p["half_width"] = rng.uniform(*look.eye_half_width_px, n)
        p["open"] = rng.uniform(0.36, 0.52, n)
        p["tilt"] = rng.normal(0.0, 0.05, n)
    p.update(
        cx=rng.normal(W / 2, 1.2, n),
        cy=rng.normal(H / 2, 1.0, n),
        ball=rng.uniform(0.74, 0.84, n),
        iris_r=rng.uniform(0.42, 0.5, n),
        pupil=rng.uniform(0.3, 0.5, n),
        sclera=rng.uniform(*look.sclera_level, n),
        light=rng.uniform(-1, 1, (n, 2)),
        lash_phase=rng.uniform(0, 2 * np.pi, n),
        iris_phase=rng.uniform(0, 2 * np.pi, n),
        tex=rng.uniform(0, 2 * np.pi, (n, 3, 3)),
        tex_freq=rng.uniform(0.08, 0.35, (n, 3, 2)),
        brightness=rng.uniform(*look.brightness, n),
        blur=rng.uniform(*look.blur_sigma_px, n),
        noise=rng.uniform(*look.noise_sigma, n),
        contrast=rng.uniform(*look.contrast, n),
        gamma=rng.uniform(*look.gamma, n),
        eye=rng.integers(0, 2, n).astype(np.uint8) if look.n_subjects else np.zeros(n, np.uint8),
    )
    if look.jpeg_quality is not None:
        p["jpeg"] = rng.uniform(*look.jpeg_quality, n)
    return p


def _eyeball(p: dict[str, np.ndarray]):
    """Eyeball centre (ex, ey), radius R, gaze unit vector (gx, gy, gz), iris radius ri and
    iris centre (ix, iy) in pixels, each (B, 1, 1) float32. Optional ``iris_dx_px`` /
    ``iris_dy_px`` in p move the drawn iris off where the gaze puts it (a planted label error)."""
    a = _col(p["half_width"])
    cx, cy = _col(p["cx"]), _col(p["cy"])
    gp, gy_ = _col(p["gaze_pitch"]), _col(p["gaze_yaw"])
    hp, hy = _col(p["head_pitch"]), _col(p["head_yaw"])
    R = a * _col(p["ball"])
    depth = 0.45 * R
    ex = cx + depth * np.cos(hp) * np.sin(hy)
    ey = cy + depth * np.sin(hp)
    gx, gy, gz = -np.cos(gp) * np.sin(gy_), -np.sin(gp), np.cos(gp) * np.cos(gy_)
    ri = R * _col(p["iris_r"])
    lift = np.sqrt(R * R - ri * ri)
    n = len(p["cx"])
    ix = ex + lift * gx + _col(p.get("iris_dx_px", np.zeros(n)))
    iy = ey + lift * gy + _col(p.get("iris_dy_px", np.zeros(n)))
    return ex, ey, R, (gx, gy, gz), ri, (ix, iy)


def iris_centres_px(p: dict[str, np.ndarray]) -> np.ndarray:
    """(B, 2) float32 (x, y) pixel centres of the irises :func:`render` draws for params p."""
    *_, (ix, iy) = _eyeball(p)
    return np.stack([ix[:, 0, 0], iy[:, 0, 0]], 1).astype(np.float32)


def render(look: Look, p: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Render (B, 36, 60) uint8 images for the parameters of :func:`sample_params`."""
    a = _col(p["half_width"])
    cx, cy = _col(p["cx"]), _col(p["cy"])
    gp = _col(p["gaze_pitch"])
    hp = _col(p["head_pitch"])
    edge = look.edge_px
    # Eye opening: lids attached to the head; the upper lid follows the eye-in-head pitch.
    t = (_U - cx) / a
    profile = np.clip(1.0 - t * t, 0.0, None) ** 0.7
    base_y = cy + _col(p["tilt"]) * (_U - cx)
    pitch_in_head = np.clip(gp - hp, -0.6, 0.6)
    h_up = a * _col(p["open"]) * (1.0 + 0.9 * np.sin(pitch_in_head))
    h_lo = a * _col(p["open"]) * 0.75 * (1.0 - 0.35 * np.sin(pitch_in_head))
    y_up = base_y - h_up * profile * (1.0 - 0.12 * t)
    y_lo = base_y + h_lo * profile
    m_open = _soft(np.maximum(y_up - _V, _V - y_lo), edge)
    m_open *= np.clip((1.0 - np.abs(t)) * a, 0.0, 1.0)  # closed beyond the corners: no seam line
    # Eyeball centre sits behind the lids: head rotation shifts it against the opening.
    ex, ey, R, (gx, gy, gz), ri, (ix, iy) = _eyeball(p)
    norm = np.maximum(np.sqrt(gx * gx + gy * gy), 1e-6)
    ux, uy = gx / norm, gy / norm
    dx, dy = _U - ix, _V - iy
    along, perp = dx * ux + dy * uy, -dx * uy + dy * ux
    rho = np.sqrt((along / (ri * gz)) ** 2 + (perp / ri) ** 2)
    m_iris = _soft((rho - 1.0) * ri, edge)
    rp = _col(p["pupil"])
    m_pupil = _soft((rho - rp) * ri, edge)
    # Shading: sclera darkens toward the eyeball rim; the upper lid shadows the eyeball.
    r2 = ((_U - ex) ** 2 + (_V - ey) ** 2) / (R * R)
    sphere = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    s = look.shading
    sclera = _col(p["sclera"]) * (1.0 - 0.35 * s * (1.0 - sphere))
    iris = (
        _col(p["iris"])
        * (1.1 - 0.35 * rho**4)
        * (1.0 + 0.08 * np.cos(11.0 * np.arctan2(perp, along) + _col(p["iris_phase"])))
    )
    eye = sclera + (iris - sclera) * m_iris
    eye = eye + (12.0 - eye) * m_pupil
    eye *= 1.0 - 0.4 * s * np.exp(-np.clip(_V - y_up, 0.0, None) / 2.0)
    lx, ly = _col(p["light"][:, 0]), _col(p["light"][:, 1])
    glint_x, glint_y = ix + 0.4 * ri * lx, iy + 0.4 * ri * ly - 0.3 * ri
    eye += 230.0 * np.exp(-((_U - glint_x) ** 2 + (_V - glint_y) ** 2) / 0.7)
    # Skin with a lid crease above the opening, shading, texture and eyelashes.
    skin = _col(p["skin"]) * (1.0 + 0.12 * s * (_V - cy) / H) * np.ones_like(_U)
    crease_prof = np.clip(1.0 - (t / 1.25) ** 2, 0.0, None)
    crease_y = base_y - (h_up + 0.35 * a) * crease_prof
    skin *= 1.0 - 0.25 * (0.3 + 0.7 * s) * crease_prof * np.exp(-(((_V - crease_y) / 1.6) ** 2))
    if look.skin_texture:
        fx, fy, ph = p["tex_freq"][..., 0], p["tex_freq"][..., 1], p["tex"][..., 0]
        tex = sum(
            np.cos(_col(fx[:, k]) * _U + _col(fy[:, k]) * _V + _col(ph[:, k])) for k in range(3)
        )
        skin *= 1.0 + look.skin_texture * tex / 3.0
    if look.eyelashes:
        above = np.clip(y_up - _V, 0.0, None)
        band = np.exp(-above / 1.8) * (_V <= y_up + 0.5) * (np.abs(t) < 1.05)
        comb = (0.5 + 0.5 * np.cos(2.3 * _U + _col(p["lash_phase"]))) ** 2
        skin *= 1.0 - look.eyelashes * band * (0.35 + 0.65 * comb)
    img = skin + (eye - skin) * m_open
    # Lighting and camera.
    if look.light_gradient:
        img *= 1.0 + look.light_gradient * (
            lx * (_U - W / 2) / (W / 2) + ly * (_V - H / 2) / (H / 2)
        )
    img *= _col(p["brightness"])
    mean = img.mean(axis=(1, 2), keepdims=True)
    img = mean + _col(p["contrast"]) * (img - mean)
    img = 255.0 * (np.clip(img, 0.0, 255.0) / 255.0) ** _col(p["gamma"])
    for i in np.flatnonzero(p["blur"] > 0.05):
        img[i] = cv2.GaussianBlur(img[i], (0, 0), float(p["blur"][i]))
    if look.noise_sigma[1] > 0:
        img += rng.standard_normal(img.shape, dtype=np.float32) * _col(p["noise"])
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if "jpeg" in p:
        for i in range(len(out)):
            ok, buf = cv2.imencode(".jpg", out[i], [cv2.IMWRITE_JPEG_QUALITY, int(p["jpeg"][i])])
            out[i] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def iter_domain(domain: str, n: int, seed: int = 0, first_block: int = 0):
    """Yield store-field dicts of up to ``BLOCK`` images each, n images in all (bounded memory).

    ``first_block`` skips (does not render) the blocks before it: how a killed write resumes.

    Deterministic for (domain, seed), and prefix-stable: the first k images do not depend on n.
    """
    if domain not in LOOKS:
        raise UserError(f"unknown demo domain {domain!r}; choose from {', '.join(DOMAINS)}")
    look = LOOKS[domain]
    traits = _subject_traits(look, seed) if look.n_subjects else None
    seeds = np.random.SeedSequence([seed, _DOMAIN_SALT[domain]]).spawn((n + BLOCK - 1) // BLOCK)
    for b, child in enumerate(seeds):
        if b < first_block:
            continue
        rng = np.random.default_rng(child)
        k = min(BLOCK, n - b * BLOCK)
        p = sample_params(look, rng, BLOCK, traits)  # always a full block: prefix stability
        p = {key: v[:k] for key, v in p.items()}
        yield {
            "images": render(look, p, rng),
            "gaze_pitchyaw_rad": np.stack([p["gaze_pitch"], p["gaze_yaw"]], 1).astype(np.float32),
            "head_pitchyaw_rad": np.stack([p["head_pitch"], p["head_yaw"]], 1).astype(np.float32),
            "subject": p["subject"].astype(np.int32),
            "eye": p["eye"].astype(np.uint8),
        }


def render_domain(domain: str, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Render n images of a demo domain at once; returns the store fields as arrays."""
    blocks = list(iter_domain(domain, n, seed))
    if not blocks:
        return {
            "images": np.zeros((0, H, W), np.uint8),
            "gaze_pitchyaw_rad": np.zeros((0, 2), np.float32),
            "head_pitchyaw_rad": np.zeros((0, 2), np.float32),
            "subject": np.zeros(0, np.int32),
            "eye": np.zeros(0, np.uint8),
        }
    return {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]}
