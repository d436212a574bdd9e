"""C2PA Content Credentials: sign a manifest into media we generated, and read/validate manifests.

GB 45438 implicit labels are what Chinese platforms read; C2PA manifests are what platforms
elsewhere read. The manifest we write (C2PA 2.x, via ``c2pa-python`` 0.38 / c2pa-rs 0.91):

- ``c2pa.actions.v2`` with ``c2pa.created`` and ``digitalSourceType`` =
  IPTC ``trainedAlgorithmicMedia`` (the AI-generation signal other readers act on);
- ``cn.synthguard.aigc``: our content ID and the GB 45438 label fields (a custom assertion with a
  reverse-DNS label; the GB XMP label in the file stays authoritative, C2PA mirrors it).

Order matters (research: provenance.md 1.6): any metadata edit after signing breaks the C2PA hard
binding, so callers label first and sign last. Thumbnails are off (+50 ms, +180 KB per image);
remote manifest fetching is off (offline). Without a time-stamp authority (``c2pa_tsa_url``) a
manifest turns Invalid when the leaf certificate expires, so production must configure one.

The provider certificate comes from Settings (``c2pa_cert_chain`` leaf first then intermediates,
``c2pa_private_key``); its leaf needs EKU emailProtection and must not be a CA (c2pa-rs refuses
others). :func:`make_test_chain` makes a root -> intermediate -> leaf chain with ``cryptography``
for tests and demos. ``c2pa`` (a 50 MB native library) is imported only when used.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthguard.config import Settings
from synthguard.errors import C2paError, ConfigError, UnsupportedFormat
from synthguard.ledger.results import C2paResult

AIGC_ASSERTION = "cn.synthguard.aigc"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
MIME_BY_SUFFIX = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
}
# Magic bytes decide when the name is missing or wrong (uploads).
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (8, b"WEBP", "image/webp"),
    (8, b"WAVE", "audio/wav"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (4, b"ftypqt", "video/quicktime"),
    (4, b"ftyp", "video/mp4"),
)


def mime_of(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(16)
    for offset, magic, mime in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return mime
    by_name = MIME_BY_SUFFIX.get(path.suffix.lower())
    if by_name is None:
        raise UnsupportedFormat(
            f"{path.name}: C2PA signing supports JPEG, PNG, WebP, MP4/MOV, WAV, MP3 and FLAC",
            message_zh=f"{path.name}：C2PA 签名支持 JPEG、PNG、WebP、MP4/MOV、WAV、MP3、FLAC",
        )
    return by_name


@dataclass(frozen=True)
class C2paCredentials:
    chain_pem: bytes  # leaf first, then intermediates
    key_pem: bytes
    algorithm: str = "es256"
    tsa_url: str = ""
    trust_anchors_pem: bytes = b""

    @classmethod
    def from_settings(cls, settings: Settings) -> C2paCredentials:
        if settings.c2pa_cert_chain is None or settings.c2pa_private_key is None:
            raise ConfigError(
                "set SYNTHGUARD_C2PA_CERT_CHAIN and SYNTHGUARD_C2PA_PRIVATE_KEY to sign C2PA manifests "
                "(`synthguard ledger c2pa test-chain DIR` makes a test chain)",
                message_zh="请设置 SYNTHGUARD_C2PA_CERT_CHAIN 与 SYNTHGUARD_C2PA_PRIVATE_KEY以签署 C2PA 清单",
            )
        if settings.c2pa_algorithm not in ALGORITHMS:
            raise ConfigError(f"c2pa_algorithm must be one of {', '.join(ALGORITHMS)}")
        try:
            anchors = settings.c2pa_trust_anchors.read_bytes() if settings.c2pa_trust_anchors else b""
            return cls(
                settings.c2pa_cert_chain.read_bytes(),
                settings.c2pa_private_key.read_bytes(),
                settings.c2pa_algorithm,
                settings.c2pa_tsa_url,
                anchors,
            )
        except OSError as exc:
            raise ConfigError(f"cannot read C2PA certificate or key: {exc}") from exc


def _context(anchors_pem: bytes) -> Any:
    import c2pa

    config: dict[str, Any] = {
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    if anchors_pem:
        config["trust"] = {"user_anchors": anchors_pem.decode("ascii")}
    return c2pa.Context.from_dict(config)


def _manifest(title: str, content_id: str, label: Mapping[str, str] | None, software: str) -> dict[str, Any]:
    from synthguard import __version__

    aigc: dict[str, Any] = {"content_id": content_id, "standard": "GB 45438-2025"}
    if label:
        aigc["label"] = dict(label)
    return {
        "claim_generator_info": [{"name": "synthguard", "version": __version__}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": software},
                        }
                    ]
                },
            },
            {"label": AIGC_ASSERTION, "data": aigc},
        ],
    }


def sign_c2pa(
    src: Path,
    out: Path | None,
    credentials: C2paCredentials,
    *,
    content_id: str,
    label: Mapping[str, str] | None = None,
    software: str = "synthguard",
    fsync: bool = True,
) -> Path:
    """Embed a signed manifest; ``out=None`` replaces ``src`` atomically. Returns the written path.

    ``fsync`` follows ``Settings.fsync`` like every other labeled-file write."""
    import c2pa

    mime = mime_of(src)
    target = out or src
    alg = getattr(c2pa.C2paSigningAlg, credentials.algorithm.upper())
    info = c2pa.C2paSignerInfo(alg, credentials.chain_pem, credentials.key_pem, credentials.tsa_url or None)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".c2pa")
    try:
        with (
            _context(credentials.trust_anchors_pem) as context,
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(_manifest(src.name, content_id, label, software), context=context) as builder,
            open(src, "rb") as source,
            os.fdopen(fd, "w+b") as dest,
        ):
            builder.sign(signer, mime, source, dest)
            dest.flush()
            if fsync:
                os.fsync(dest.fileno())
        os.replace(tmp, target)
    except c2pa.C2paError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise C2paError(
            f"{src.name}: C2PA signing failed: {exc}", message_zh=f"{src.name}：C2PA 签名失败：{exc}"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_c2pa(path: Path, *, trust_anchors_pem: bytes = b"") -> C2paResult:
    """Find and validate a C2PA manifest: ``present=False`` when there is none.

    ``state`` is c2pa-rs's verdict: Trusted (valid, chain to an anchor we trust), Valid (intact,
    signer not in our anchors), Invalid (something broke: ``failures`` names it). An Invalid
    manifest that says ``trainedAlgorithmicMedia`` is evidence of AI origin later edited, not of
    human origin.
    """
    import c2pa

    result = C2paResult(source=str(path))
    mime = mime_of(path)
    try:
        with _context(trust_anchors_pem) as context, open(path, "rb") as stream:
            reader = c2pa.Reader.try_create(mime, stream, context=context)
            if reader is None:
                return result
            with reader:
                state = reader.get_validation_state() or ""
                validation = reader.get_validation_results() or {}
                manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        # A manifest store so broken it cannot be parsed is still a finding, not a crash.
        result.present = True
        result.state = "Invalid"
        result.failures = [f"unreadable: {exc}"]
        return result
    result.present = True
    result.state = state
    result.failures = sorted({f.get("code", "") for f in _failures(validation)})
    _fill_from_manifest(result, manifest)
    return result


def _failures(validation: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    active = validation.get("activeManifest") or {}
    found.extend(active.get("failure") or [])
    for ingredient in validation.get("ingredientDeltas") or []:
        found.extend((ingredient.get("validationDeltas") or {}).get("failure") or [])
    return found


def _fill_from_manifest(result: C2paResult, manifest: Mapping[str, Any]) -> None:
    info = manifest.get("claim_generator_info") or []
    if info:
        result.claim_generator = str(info[0].get("name", ""))
    result.signer = str((manifest.get("signature_info") or {}).get("common_name", ""))
    for assertion in manifest.get("assertions") or []:
        label, data = assertion.get("label", ""), assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions") or []:
                if action.get("action") == "c2pa.created":
                    result.digital_source_type = str(action.get("digitalSourceType", ""))
        elif label == AIGC_ASSERTION:
            result.content_id = str(data.get("content_id", ""))
            raw_label = data.get("label")
            if isinstance(raw_label, dict):
                result.label = {str(k): str(v) for k, v in raw_label.items()}


# --- a test chain (tests, demos; never production) ---------------------------------------------------


@dataclass(frozen=True)
class TestChain:
    chain: Path  # leaf + intermediate, PEM
    key: Path  # leaf private key, PEM
    root: Path  # root CA certificate, PEM (a trust anchor for readers)

    __test__ = False  # not a pytest class

    def credentials(self) -> C2paCredentials:
        chain, key, root = self.chain.read_bytes(), self.key.read_bytes(), self.root.read_bytes()
        return C2paCredentials(chain, key, "es256", "", root)


def make_test_chain(folder: Path, *, organisation: str = "synthguard test", days: int = 365) -> TestChain:
    """Root CA -> intermediate CA -> leaf (P-256, EKU emailProtection), as c2pa-rs requires."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)

    def issue(
        subject: x509.Name,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        issuer_key: ec.EllipticCurvePrivateKey,
        *,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
            )
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        else:
            usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
        return builder.add_extension(usage, critical=True).sign(issuer_key, hashes.SHA256())

    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root_name = name("synthguard test root CA")
    root = issue(root_name, root_key, root_name, root_key, ca=True)
    mid = issue(name("synthguard test intermediate CA"), mid_key, root.subject, root_key, ca=True)
    leaf = issue(name("synthguard test signer"), leaf_key, mid.subject, mid_key, ca=False)
    folder.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    chain = TestChain(folder / "c2pa-chain.pem", folder / "c2pa-leaf.key", folder / "c2pa-root.pem")
    chain.chain.write_bytes(leaf.public_bytes(pem) + mid.public_bytes(pem))
    chain.root.write_bytes(root.public_bytes(pem))
    fd = os.open(chain.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
    return chain


def manifest_json(path: Path) -> str:
    """The full manifest store as JSON (for ``--json`` debugging)."""
    import c2pa

    with _context(b"") as context, open(path, "rb") as stream:
        reader = c2pa.Reader.try_create(mime_of(path), stream, context=context)
        if reader is None:
            return "{}"
        with reader:
            return str(reader.json())
