"""The three appearance models of the demo eye domain, as data.

Each mirrors one of Table 1's data sources (these are demo stand-ins, never the real datasets):

- ``sim``  — UnityEyes stand-in: clean, flat-shaded, sharp, no sensor effects; broad gaze range,
  near-frontal heads (GazeML's ±20° filter); every image a new random person.
- ``lab``  — UT Multiview stand-in: a labelled camera domain captured in a lab: even lighting,
  mild blur and noise, a closer camera (larger eyes), and its own gaze and head-pose
  distribution, which does not cover the wild domain's downward gaze (dataset bias), 50 people.
- ``wild`` — MPIIGaze stand-in, the test domain: laptop-webcam look (uneven lighting, blur,
  sensor noise, low contrast, gamma, JPEG, eyelashes, skin texture), narrower gaze range that
  looks slightly down at a screen, 15 people.

Angles are degrees here (people think in degrees); the renderer converts to radians.
Ranges are (lo, hi) uniform; label distributions are (mean, std, lo, hi) clipped normals,
with std = None meaning uniform on [lo, hi].
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]
Dist = tuple[float, float | None, float, float]


@dataclass(frozen=True)
class Look:
    # labels (degrees)
    gaze_pitch: Dist
    gaze_yaw: Dist
    head_pitch: Dist
    head_yaw: Dist
    n_subjects: int  # 0: every image is its own random person
    # geometry (pixels in the 36x60 patch)
    eye_half_width_px: Range
    # scene
    skin_level: Range
    iris_level: Range
    sclera_level: Range
    shading: float  # 0 = flat shaded, 1 = full sphere / lid shadow shading
    eyelashes: float  # darkness of lashes along the upper lid, 0..1
    skin_texture: float  # relative amplitude of low-frequency skin texture
    light_gradient: float  # max relative brightness change across the patch
    brightness: Range
    # camera
    edge_px: float  # anti-aliasing softness of edges
    blur_sigma_px: Range
    noise_sigma: Range  # grey levels
    contrast: Range  # 1 = unchanged, <1 compresses toward the image mean
    gamma: Range
    jpeg_quality: Range | None


LOOKS: dict[str, Look] = {
    "sim": Look(
        gaze_pitch=(0.0, None, -30.0, 25.0),
        gaze_yaw=(0.0, None, -35.0, 35.0),
        head_pitch=(0.0, None, -20.0, 20.0),
        head_yaw=(0.0, None, -20.0, 20.0),
        n_subjects=0,
        eye_half_width_px=(17.5, 22.5),
        skin_level=(110.0, 210.0),
        iris_level=(40.0, 150.0),
        sclera_level=(215.0, 240.0),
        shading=0.15,
        eyelashes=0.0,
        skin_texture=0.0,
        light_gradient=0.0,
        brightness=(0.95, 1.05),
        edge_px=0.5,
        blur_sigma_px=(0.0, 0.0),
        noise_sigma=(0.0, 0.0),
        contrast=(1.0, 1.0),
        gamma=(1.0, 1.0),
        jpeg_quality=None,
    ),
    "lab": Look(
        # Dataset bias, as Zhang et al. (CVPR 2015) found between UT Multiview and MPIIGaze:
        # targets on a screen at eye level never make people look down the way a laptop user
        # does, so the lab's gaze pitch does not cover the wild's lower range (below -10 deg);
        # multi-view synthesis spreads head pose widely.
        gaze_pitch=(8.0, 9.0, -10.0, 30.0),
        gaze_yaw=(0.0, 16.0, -40.0, 40.0),
        head_pitch=(6.0, 9.0, -15.0, 30.0),
        head_yaw=(0.0, 18.0, -36.0, 36.0),
        n_subjects=50,
        # A closer camera and a different normalisation distance: eyes appear larger.
        eye_half_width_px=(20.5, 24.5),
        skin_level=(120.0, 190.0),
        iris_level=(50.0, 120.0),
        sclera_level=(200.0, 230.0),
        shading=0.8,
        eyelashes=0.45,
        skin_texture=0.04,
        light_gradient=0.08,
        brightness=(0.85, 1.0),
        edge_px=0.9,
        blur_sigma_px=(0.5, 0.8),
        noise_sigma=(1.5, 3.0),
        contrast=(0.8, 0.95),
        gamma=(0.9, 1.1),
        jpeg_quality=None,
    ),
    "wild": Look(
        gaze_pitch=(-6.0, 7.0, -25.0, 15.0),
        gaze_yaw=(0.0, 9.0, -25.0, 25.0),
        head_pitch=(-4.0, 7.0, -25.0, 25.0),
        head_yaw=(0.0, 9.0, -25.0, 25.0),
        n_subjects=15,
        eye_half_width_px=(17.5, 22.5),
        skin_level=(90.0, 200.0),
        iris_level=(35.0, 130.0),
        sclera_level=(170.0, 225.0),
        shading=1.0,
        eyelashes=0.8,
        skin_texture=0.10,
        light_gradient=0.35,
        brightness=(0.6, 1.05),
        edge_px=1.0,
        blur_sigma_px=(0.7, 1.5),
        noise_sigma=(2.5, 7.0),
        contrast=(0.55, 0.85),
        gamma=(0.75, 1.4),
        jpeg_quality=(30.0, 75.0),
    ),
}

DOMAINS = tuple(LOOKS)
