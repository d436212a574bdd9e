"""Regenerate the committed assets of ``synthguard.labels.explicit``: the font subset and the spoken clips.

Run once on a machine with the Debian packages ``fonts-noto-cjk`` and ``espeak-ng`` installed
(``apt-get install fonts-noto-cjk espeak-ng``) and ``fonttools`` in the venv (the ``test`` extra):

    .venv/bin/python tools/make_explicit_assets.py

Outputs (all committed, so run time never depends on system fonts or a TTS engine):

* ``fonts/NotoSansCJKsc-Bold-subset.otf``: Noto Sans CJK SC Bold (SIL OFL 1.1) cut down to
  ``notice.GLYPH_TEXT`` (every glyph a default notice draws, plus ASCII), and ``fonts/OFL.txt``.
* ``sounds/notice-{zh,en}-{1,2,3}.ogg``: the spoken notices (GB 45438-2025 audio explicit label),
  espeak-ng, resampled to 16 kHz mono, Opus in Ogg (a few KB each).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from synthguard.labels.explicit import notice  # noqa: E402

PKG = ROOT / "src/synthguard/labels/explicit"
SOURCE_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
SOURCE_FONT_INDEX = 2  # the collection's order: JP, KR, SC, TC, HK
SOURCE_LICENCE = Path("/usr/share/doc/fonts-noto-cjk/copyright")
FONT_OUT = PKG / "fonts/NotoSansCJKsc-Bold-subset.otf"
CLIP_RATE = 16_000
# espeak-ng voices and speeds: GB 45438 practice quotes ~120-160 Chinese characters per minute.
VOICES = {"zh": ("cmn", 150), "en": ("en-us", 150)}


def make_font() -> None:
    from fontTools import subset

    options = subset.Options()
    options.font_number = SOURCE_FONT_INDEX
    options.layout_features = ["kern", "palt", "halt", "vert", "liga"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    font = subset.load_font(str(SOURCE_FONT), options, lazy=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=notice.GLYPH_TEXT)
    subsetter.subset(font)
    subset.save_font(font, str(FONT_OUT), options)
    licence = SOURCE_LICENCE.read_text(encoding="utf-8")
    start = licence.index("License: SIL-1.1\n -")
    ofl = licence[start:].split("\nLicense: ", 1)[0]
    body = "\n".join(line[1:] if line.startswith(" ") else line for line in ofl.splitlines()[1:])
    body = body.replace("\n.\n", "\n\n")
    (FONT_OUT.parent / "OFL.txt").write_text(
        "Noto Sans CJK SC Bold, subset by synthguard (tools/make_explicit_assets.py) to the glyphs of\n"
        "its explicit-label notices. Source: Debian package fonts-noto-cjk (googlefonts/noto-cjk).\n"
        "Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'.\n"
        "Copyright 2010-2012 Google Corporation.\n\n"
        "This Font Software is licensed under the SIL Open Font License, Version 1.1.\n\n"
        + body.strip()
        + "\n",
        encoding="utf-8",
    )
    print(f"{FONT_OUT.relative_to(ROOT)}: {FONT_OUT.stat().st_size} bytes, {len(notice.GLYPH_TEXT)} chars")


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """To 16 kHz mono float32 via libswresample (PyAV), the same resampler audio.py uses."""
    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None, :], format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=CLIP_RATE)
    out = [f.to_ndarray()[0] for f in resampler.resample(frame)]
    out += [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(out)


def make_clips() -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is not installed: apt-get install espeak-ng")
    for lang, (voice, speed) in VOICES.items():
        texts = notice.LONG_ZH if lang == "zh" else notice.LONG_EN
        for level, text in texts.items():
            with tempfile.TemporaryDirectory() as tmp:
                wav = Path(tmp) / "clip.wav"
                subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
                samples, rate = sf.read(wav, dtype="float32")
            if samples.ndim > 1:
                samples = samples.mean(axis=1)
            clip = _resample(samples, rate)
            # Trim espeak's leading/trailing silence, then normalise the peak to -3 dBFS.
            loud = np.flatnonzero(np.abs(clip) > 0.01)
            clip = clip[max(loud[0] - 160, 0) : loud[-1] + 160]
            clip = clip * (10 ** (-3 / 20) / max(float(np.abs(clip).max()), 1e-6))
            out = PKG / f"sounds/notice-{lang}-{level}.ogg"
            sf.write(out, clip, CLIP_RATE, format="OGG", subtype="OPUS", compression_level=0.95)
            print(f"{out.relative_to(ROOT)}: {len(clip) / CLIP_RATE:.2f} s, {out.stat().st_size} bytes")


if __name__ == "__main__":
    make_font()
    make_clips()
