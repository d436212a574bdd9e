"""Test images for the watermark: scikit-image's bundled photographs and generated natural-like ones."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def photo(name: str) -> npt.NDArray[np.uint8]:
    import skimage.data

    return np.ascontiguousarray(getattr(skimage.data, name)())


def natural_like(height: int, width: int, seed: int) -> npt.NDArray[np.uint8]:
    """1/f ("pink") colour noise, the spectrum of natural scenes, with smooth shapes and edges."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    falloff = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / max(height, width)) ** 1.1
    base = np.fft.irfft2(falloff * np.exp(2j * np.pi * rng.random((height, fx.shape[1]))), s=(height, width))
    channels = []
    for shift in rng.normal(0, 0.4, 3):
        detail = np.fft.irfft2(
            falloff * np.exp(2j * np.pi * rng.random((height, fx.shape[1]))), s=(height, width)
        )
        channels.append(base + shift * detail)
    img = np.stack(channels, axis=2)
    img = (img - img.min()) / (np.ptp(img) + 1e-9)
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(4):  # flat-ish objects with soft gradients: sky, walls, skin
        cy, cx, r = rng.integers(0, height), rng.integers(0, width), rng.integers(20, min(height, width) // 2)
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
        tone = rng.random(3) * 0.8 + 0.1 + (yy / height)[..., None] * 0.1
        img = np.where(inside[..., None], 0.8 * tone + 0.2 * img, img)
    return np.asarray(np.clip(img * 255, 0, 255), dtype=np.uint8)
