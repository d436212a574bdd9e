"""Image watermark: quality, the numbers.md attack list, files and metadata, bad input, false positives."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthguard.errors import CorruptFile, MediaTooSmall
from synthguard.watermark import attacks
from synthguard.watermark.image import detect_array, detect_file, embed_array, embed_file, ssim
from synthguard.watermark.payload import Keyring, WatermarkKey
from tests.watermark.images import natural_like, photo

KEY = WatermarkKey(0, bytes(range(32)))
RING = Keyring({0: KEY}, 0)
MARK = 0xA5_1234_5678


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def marked() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    images = {
        "coffee": photo("coffee"),  # 400x600 photograph
        "chelsea": photo("chelsea"),  # 300x451, the smallest photo size numbers.md measured
        "natural": natural_like(480, 640, seed=3),
    }
    return {name: (img, embed_array(img, MARK, KEY)) for name, img in images.items()}


def test_marked_images_meet_the_quality_targets(marked: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    for name, (original, mark) in marked.items():
        assert _psnr(original, mark) >= 40.0, name
        assert ssim(original, mark) >= 0.98, name


def test_our_ssim_matches_scikit_image(marked: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    from skimage.metrics import structural_similarity

    original, mark = marked["coffee"]
    assert ssim(original, mark) == pytest.approx(
        structural_similarity(original, mark, channel_axis=2, data_range=255), abs=2e-4
    )


# Every attack numbers.md lists, one at a time (plus a few neighbours of each).
SINGLE = [
    "none", "jpeg50", "webp60", "resize50", "resize75", "resize50_back", "crop90", "crop50",
    "crop50_corner", "rotate+5", "rotate-5", "rotate1", "noise5", "bright+20", "bright-20",
    "contrast+20", "contrast-20", "grayscale", "hflip", "screenshot", "screenshot125",
]  # fmt: skip


@pytest.mark.parametrize("attack", SINGLE)
def test_payload_survives_each_listed_attack_exactly(
    marked: dict[str, tuple[np.ndarray, np.ndarray]], attack: str
) -> None:
    for name, (_original, mark) in marked.items():
        found = detect_array(attacks.IMAGE_ATTACKS[attack](mark), RING).payload
        assert found is not None, (name, attack)
        assert found.mark_id == MARK and found.key_id == 0, (name, attack)
        assert found.p_value < 1e-6


@pytest.mark.parametrize(
    "attack",
    ["crop50+jpeg50", "rotate5+crop70+jpeg50", "hflip+gray+resize75+jpeg", "noise5+bright+20+jpeg50"],
)
def test_payload_survives_combined_attacks(
    marked: dict[str, tuple[np.ndarray, np.ndarray]], attack: str
) -> None:
    for name in ("coffee", "natural"):
        found = detect_array(attacks.IMAGE_ATTACKS[attack](marked[name][1]), RING).payload
        assert found is not None and found.mark_id == MARK, (name, attack)


def test_grayscale_and_rgba_inputs_are_marked_in_their_own_mode() -> None:
    gray = photo("camera")  # 512x512 L
    gray_mark = embed_array(gray, MARK, KEY)
    assert gray_mark.shape == gray.shape and gray_mark.dtype == np.uint8
    assert detect_array(gray_mark, RING).payload is not None
    rgba = np.dstack([natural_like(300, 400, seed=8), np.full((300, 400), 200, np.uint8)])
    rgba_mark = embed_array(rgba, MARK, KEY)
    assert np.array_equal(rgba_mark[:, :, 3], rgba[:, :, 3])  # alpha untouched
    assert detect_array(rgba_mark, RING).payload is not None


def test_jpeg_file_keeps_format_exif_and_icc(tmp_path: Path) -> None:
    from PIL import ImageCms

    src = tmp_path / "in.jpg"
    exif = Image.Exif()
    exif[0x010F] = "SynthCam"  # Make
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(photo("coffee")).save(src, quality=92, exif=exif, icc_profile=icc)
    out = tmp_path / "out.jpg"
    detail = embed_file(src, out, MARK, KEY)
    assert detail["psnr_db"] >= 40
    with Image.open(out) as image:
        assert image.format == "JPEG" and image.size == (600, 400)
        assert image.getexif()[0x010F] == "SynthCam"
        assert image.info["icc_profile"] == icc
    found = detect_file(out, RING).payload
    assert found is not None and found.mark_id == MARK


def test_png_file_keeps_text_chunks_and_mode(tmp_path: Path) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "made by a model")
    src = tmp_path / "in.png"
    Image.fromarray(photo("camera")).save(src, pnginfo=info)
    embed_file(src, src, MARK, KEY)  # in place
    with Image.open(src) as image:
        assert image.format == "PNG" and image.mode == "L"
        assert image.info["Comment"] == "made by a model"
    assert detect_file(src, RING).payload is not None


def test_images_under_256_pixels_are_refused_for_embedding_and_read_as_absent() -> None:
    small = natural_like(200, 400, seed=1)
    with pytest.raises(MediaTooSmall):
        embed_array(small, MARK, KEY)
    assert detect_array(small, RING).payload is None
    assert detect_array(np.zeros((10, 10, 3), np.uint8), RING).payload is None


def test_corrupt_image_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(CorruptFile):
        detect_file(bad, RING)
    with pytest.raises(CorruptFile):
        embed_file(bad, tmp_path / "out.jpg", MARK, KEY)


def test_flat_and_saturated_images_do_not_crash() -> None:
    for img in (np.zeros((300, 300, 3), np.uint8), np.full((300, 300), 255, np.uint8)):
        out = embed_array(img, MARK, KEY)  # nothing to hide in: the SSIM guard keeps it faint
        assert out.shape == img.shape
        detect_array(out, RING)


def _unmarked_variants() -> list[np.ndarray]:
    """288 unmarked images: 12 photos and 6 generated ones, each whole and in 15 crops/rescales."""
    names = [
        "astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field",
        "retina", "cat", "camera", "moon", "brick", "grass",
    ]  # fmt: skip
    bases = [photo(n) for n in names] + [natural_like(400, 500, seed=100 + i) for i in range(6)]
    out: list[np.ndarray] = []
    for i, img in enumerate(bases):
        out.append(img)
        h, w = img.shape[:2]
        rng = np.random.default_rng(i)
        for _ in range(15):
            ch, cw = int(h * rng.uniform(0.4, 0.9)), int(w * rng.uniform(0.4, 0.9))
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            crop = img[y : y + ch, x : x + cw]
            if rng.random() < 0.5:
                crop = attacks.resize(crop, float(rng.uniform(0.5, 1.5)))
            out.append(np.ascontiguousarray(crop))
    return out


def test_no_detection_on_hundreds_of_unmarked_images_and_crops() -> None:
    ring = Keyring({0: KEY, 1: WatermarkKey(1, bytes(32))}, 0)
    variants = _unmarked_variants()
    assert len(variants) == 288
    detections = [i for i, img in enumerate(variants) if detect_array(img, ring).payload is not None]
    assert detections == []


def test_a_marked_image_does_not_decode_under_another_key(
    marked: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    other = Keyring({0: WatermarkKey(0, bytes(32 * [9]))}, 0)
    assert detect_array(marked["coffee"][1], other).payload is None


def test_screenshot_attack_really_goes_through_png_and_jpeg() -> None:
    img = natural_like(300, 300, seed=2)
    shot = attacks.screenshot(img)
    assert shot.shape[:2] == (240, 240)
    buf = io.BytesIO()
    Image.fromarray(shot).save(buf, "PNG")  # a plain uint8 RGB array, like any decoded JPEG


def test_unwarped_copies_decode_at_the_embedding_geometry_and_warped_ones_by_the_lattice(
    marked: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    """The first hypothesis is the embedder's own tile (no search needed); a rotation needs the search."""
    from synthguard.watermark.image import LATTICE_TRIALS, cell_size
    from synthguard.watermark.payload import false_positive_bound

    for name in ("coffee", "chelsea"):
        mark = marked[name][1]
        tile = 32 * cell_size(*mark.shape[:2])
        for attack in ("none", "jpeg50", "hflip", "grayscale"):
            found = detect_array(attacks.IMAGE_ATTACKS[attack](mark), RING)
            assert found.payload is not None and found.payload.mark_id == MARK, (name, attack)
            assert found.angle == 0.0 and found.period == pytest.approx(tile), (name, attack)
            # Charged for every decode the detector may try: the direct one and each lattice.
            assert found.payload.p_value == pytest.approx(
                false_positive_bound(found.payload.bit_errors, payload_bits=64, trials=LATTICE_TRIALS + 1)
            )
        rotated = detect_array(attacks.IMAGE_ATTACKS["rotate+5"](mark), RING)
        assert rotated.payload is not None and rotated.payload.mark_id == MARK, name
        assert abs(abs(rotated.angle) - 5.0) < 0.5, (name, rotated.angle)
