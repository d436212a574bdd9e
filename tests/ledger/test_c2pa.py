"""C2PA Content Credentials with c2pa-python, offline: what we sign validates with c2pa's Reader
(Trusted with our root as anchor), one changed byte of media data makes it Invalid, and the
manifest carries our content ID, the GB 45438 label and trainedAlgorithmicMedia."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthguard.config import Settings
from synthguard.errors import ConfigError, UnsupportedFormat
from synthguard.ledger import make_test_chain, read_c2pa, sign_c2pa
from synthguard.ledger.c2pa import TRAINED_ALGORITHMIC_MEDIA, C2paCredentials, TestChain


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> TestChain:
    return make_test_chain(tmp_path_factory.mktemp("certs"))


def _image(path: Path, fmt: str) -> Path:
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(path, fmt)
    return path


def _wav(path: Path) -> Path:
    import soundfile as sf

    t = np.arange(22050) / 22050
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), 22050, subtype="PCM_16")
    return path


def _mp4(path: Path) -> Path:
    from tests.media.video import encode_h264

    return encode_h264(path)


# Where the media data (not metadata) sits: the byte we flip is inside it.
MEDIA: dict[str, tuple[Callable[[Path], Path], bytes]] = {
    "jpg": (lambda p: _image(p, "JPEG"), b"\xff\xda"),
    "png": (lambda p: _image(p, "PNG"), b"IDAT"),
    "webp": (lambda p: _image(p, "WEBP"), b"VP8"),
    "wav": (_wav, b"data"),
    "mp4": (_mp4, b"mdat"),
}


def _flip_media_byte(path: Path, marker: bytes) -> None:
    data = bytearray(path.read_bytes())
    at = data.find(marker) + len(marker) + 40  # the first: the manifest may quote the name later
    while data[at] in (0xFE, 0xFF) or data[at - 1] == 0xFF:  # never forge a JPEG marker
        at += 1
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("ext", sorted(MEDIA))
def test_signed_file_validates_and_one_changed_media_byte_invalidates(
    ext: str, chain: TestChain, tmp_path: Path
) -> None:
    make, marker = MEDIA[ext]
    src = make(tmp_path / f"in.{ext}")
    out = sign_c2pa(
        src, tmp_path / f"out.{ext}", chain.credentials(), content_id="01TESTCONTENTID", label={"Label": "1"}
    )
    anchors = chain.root.read_bytes()
    trusted = read_c2pa(out, trust_anchors_pem=anchors)
    assert (trusted.present, trusted.state, trusted.failures) == (True, "Trusted", [])
    assert trusted.content_id == "01TESTCONTENTID" and trusted.label == {"Label": "1"}
    assert trusted.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    # Without our root the signature still checks out, but nobody vouches for the signer.
    untrusted = read_c2pa(out)
    assert untrusted.state == "Valid" and untrusted.failures == ["signingCredential.untrusted"]

    _flip_media_byte(out, marker)
    broken = read_c2pa(out, trust_anchors_pem=anchors)
    assert broken.state == "Invalid"
    assert any(code.endswith("Hash.mismatch") for code in broken.failures), broken.failures
    assert broken.digital_source_type == TRAINED_ALGORITHMIC_MEDIA  # still says: AI-made, then edited


def test_images_keep_their_pixels(chain: TestChain, tmp_path: Path) -> None:
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")):
        src = _image(tmp_path / f"a.{ext}", fmt)
        out = sign_c2pa(src, tmp_path / f"b.{ext}", chain.credentials(), content_id="X")
        assert np.array_equal(np.asarray(Image.open(src)), np.asarray(Image.open(out)))


def test_unsigned_file_has_no_manifest_and_unknown_formats_are_refused(
    tmp_path: Path, chain: TestChain
) -> None:
    assert read_c2pa(_image(tmp_path / "plain.png", "PNG")).present is False
    text = tmp_path / "a.txt"
    text.write_text("hello")
    with pytest.raises(UnsupportedFormat, match="C2PA"):
        sign_c2pa(text, None, chain.credentials(), content_id="X")


def test_signing_in_place_is_atomic_and_a_bad_key_leaves_the_file_untouched(
    chain: TestChain, tmp_path: Path
) -> None:
    from synthguard.errors import C2paError

    src = _image(tmp_path / "a.png", "PNG")
    before = src.read_bytes()
    other = make_test_chain(tmp_path / "other")
    mismatched = C2paCredentials(chain.chain.read_bytes(), other.key.read_bytes())
    with pytest.raises(C2paError, match="signing failed"):
        sign_c2pa(src, None, mismatched, content_id="X")
    assert src.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "other"]
    sign_c2pa(src, None, chain.credentials(), content_id="X")
    assert read_c2pa(src).present


def test_core_signs_labeled_file_mirrors_the_gb_label_and_logs_it(
    settings: Settings, chain: TestChain, tmp_path: Path
) -> None:
    from synthguard.core import Synthguard

    configured = settings.model_copy(
        update={
            "c2pa_cert_chain": chain.chain,
            "c2pa_private_key": chain.key,
            "c2pa_trust_anchors": chain.root,
        }
    )
    with Synthguard.open(configured) as sg:
        src = _image(tmp_path / "gen.jpg", "JPEG")
        labeled = sg.label_file(src)
        result = sg.sign_c2pa_file(src)  # label first, C2PA last: the order that keeps both valid
        assert result.state == "Trusted" and result.content_id == labeled.content_id
        assert result.label is not None and result.label["ProduceID"] == labeled.content_id
        assert sg.inspect_file(src).integrity == "intact"  # the GB label and its signature survive
        types = [e.event_type for e in sg.ledger.select(content_id=labeled.content_id)]
        assert types == ["label.issued", "c2pa.signed"]


def test_unconfigured_provider_certificate_is_a_config_error(settings: Settings, tmp_path: Path) -> None:
    from synthguard.core import Synthguard

    with Synthguard.open(settings) as sg, pytest.raises(ConfigError, match="C2PA_CERT_CHAIN"):
        sg.sign_c2pa_file(_image(tmp_path / "a.png", "PNG"))
