"""Invisible watermarks (issue #4): keyed payload with error correction, image, video and audio marks."""

from synthguard.watermark.payload import (
    DecodedPayload,
    Keyring,
    WatermarkKey,
    channel_bits,
    decode_payload,
    encode_payload,
)

__all__ = ["DecodedPayload", "Keyring", "WatermarkKey", "channel_bits", "decode_payload", "encode_payload"]
