"""Audio watermark beside resemble-perth, same clips, same attacks (numbers.md).

Audio: 4 espeak-ng speech clips and 2 synthesized music clips of 16 s at 44.1 kHz. Each tool
marks every clip; every attack of ``synthguard.watermark.attacks_audio`` runs on both tools'
output. synthguard carries a 32-bit payload: the table gives the exact-payload decode rate and
the channel-bit accuracy. resemble-perth carries no payload, only a presence score: the table
gives its presence rate (score > 0.5), and its false positives on the unmarked clips. Audibility:
SNR over the whole clip, and wideband PESQ (ITU-T P.862.2, 4.64 = transparent) on the speech.
Then synthguard scans >= 1 hour of unmarked audio (speech, music, noise) for false positives.

The LLM-text watermark has its own script, ``benchmarks/watermark_text.py``.

Run: ``.venv/bin/python benchmarks/watermark_audio.py`` (needs the ``bench`` extra for perth).
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.watermark.audio_clips import music, noise, speech

from synthguard.watermark import attacks_audio, audio
from synthguard.watermark.payload import Keyring, WatermarkKey, encode_payload

RATE = 44_100
SECONDS = 16
MARK = 0x5A5A5


def clips() -> list[tuple[str, np.ndarray]]:  # type: ignore[type-arg]
    out = []
    voices = ("en", "en-us", "de", "fr")
    for i, voice in enumerate(voices):
        x = np.concatenate([speech(i, voice=voice), speech(i + 1, voice=voice), speech(i + 2, voice=voice)])
        out.append((f"speech-{voice}", x[: SECONDS * RATE]))
    for seed in range(2):
        out.append((f"music-{seed}", music(SECONDS, RATE, seed + 10)))
    return out


def pesq_wb(clean: np.ndarray, marked: np.ndarray) -> float | None:  # type: ignore[type-arg]
    """ITU-T P.862.2 wideband PESQ of the marked speech against the clean (4.64 = transparent)."""
    try:
        from pesq import pesq
    except ImportError:  # the bench extra installs it; without it the row says so
        return None
    from scipy.signal import resample_poly

    ref, deg = (resample_poly(x, 160, 441) for x in (clean, marked))
    n = min(len(ref), len(deg))
    return float(pesq(16_000, ref[:n], deg[:n], "wb"))


def snr_db(clean: np.ndarray, marked: np.ndarray) -> float:  # type: ignore[type-arg]
    n = min(len(clean), len(marked))
    return float(10 * np.log10(np.mean(clean[:n] ** 2) / np.mean((marked[:n] - clean[:n]) ** 2)))


def run_audio() -> None:
    ring = Keyring({0: WatermarkKey(0, bytes(range(1, 33)))}, 0)
    expected = 1.0 - 2.0 * encode_payload(MARK, ring.active, payload_bits=audio.PAYLOAD_BITS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import perth

        perth_wm = perth.PerthImplicitWatermarker()
    data = clips()
    suite = attacks_audio.suite()
    rows: dict[str, dict[str, list[float]]] = {a: {} for a in suite}
    stats: dict[str, list[float]] = {
        k: [] for k in ("sg_snr", "pe_snr", "sg_pesq", "pe_pesq", "sg_emb", "pe_emb", "sg_det", "pe_det")
    }
    perth_fp: list[float] = []
    for name, clip in data:
        dur = len(clip) / RATE
        t = time.perf_counter()
        sg = audio.embed(clip, RATE, ring.active, MARK).samples
        stats["sg_emb"].append(dur / (time.perf_counter() - t))
        t = time.perf_counter()
        pe = np.asarray(perth_wm.apply_watermark(clip.astype(np.float32), sample_rate=RATE), dtype=np.float64)
        stats["pe_emb"].append(dur / (time.perf_counter() - t))
        stats["sg_snr"].append(snr_db(clip, sg))
        stats["pe_snr"].append(snr_db(clip, pe))
        if name.startswith("speech"):
            quality = (pesq_wb(clip, sg), pesq_wb(clip, pe))
            if quality[0] is not None and quality[1] is not None:
                stats["sg_pesq"].append(quality[0])
                stats["pe_pesq"].append(quality[1])
        perth_fp.append(float(perth_wm.get_watermark(clip.astype(np.float32), sample_rate=RATE)))
        for attack_name, attack in suite.items():
            y, r = attack(sg, RATE)
            t = time.perf_counter()
            found = audio.detect(y, r, ring)
            stats["sg_det"].append(len(y) / r / (time.perf_counter() - t))
            ok = found.payload is not None and found.payload.mark_id == MARK
            acc = float(np.mean(np.sign(found.soft) == expected)) if found.soft is not None else 0.5
            y2, r2 = attack(pe, RATE)
            t = time.perf_counter()
            score = float(perth_wm.get_watermark(y2.astype(np.float32), sample_rate=r2))
            stats["pe_det"].append(len(y2) / r2 / (time.perf_counter() - t))
            kind = name.split("-")[0]
            for key, value in (
                (f"sg_ok_{kind}", float(ok)),
                (f"sg_acc_{kind}", acc),
                (f"pe_ok_{kind}", float(score > 0.5)),
            ):
                rows[attack_name].setdefault(key, []).append(value)
        print(
            f"  {name}: synthguard SNR {stats['sg_snr'][-1]:.1f} dB, perth {stats['pe_snr'][-1]:.1f} dB",
            flush=True,
        )

    def pct(values: list[float]) -> str:
        return f"{100 * statistics.mean(values):.0f}%"

    print("\nAudio watermark: exact 32-bit payload (synthguard) vs presence (resemble-perth, no payload)")
    print(
        f"{'attack':<14} {'sg speech':>10} {'sg music':>9} {'sg bit acc':>10} "
        f"{'perth speech':>13} {'perth music':>12}"
    )
    for attack_name, r in rows.items():
        acc = statistics.mean(r["sg_acc_speech"] + r["sg_acc_music"])
        print(
            f"{attack_name:<14} {pct(r['sg_ok_speech']):>10} {pct(r['sg_ok_music']):>9} {acc:>10.3f}"
            f" {pct(r['pe_ok_speech']):>13} {pct(r['pe_ok_music']):>12}"
        )
    med = {k: statistics.median(v) if v else float("nan") for k, v in stats.items()}
    print(f"\n{'':<28} {'synthguard':>11} {'perth':>8} {'ratio':>7}")
    print(
        f"{'SNR, median (dB)':<28} {med['sg_snr']:>11.1f} {med['pe_snr']:>8.1f} "
        f"{med['sg_snr'] - med['pe_snr']:>+6.1f}dB"
    )
    if stats["sg_pesq"]:
        print(
            f"{'PESQ-WB speech, median (min)':<28} {med['sg_pesq']:>5.2f} ({min(stats['sg_pesq']):.2f})"
            f" {med['pe_pesq']:>4.2f} ({min(stats['pe_pesq']):.2f})"
        )
    else:
        print("PESQ-WB speech: not measured (pip install pesq, part of the bench extra)")
    for label, a, b in (
        ("embed (x real time)", "sg_emb", "pe_emb"),
        ("detect (x real time)", "sg_det", "pe_det"),
    ):
        print(f"{label:<28} {med[a]:>11.0f} {med[b]:>8.1f} {med[a] / med[b]:>7.1f}")
    flagged = sum(s > 0.5 for s in perth_fp)
    print(
        f"perth false positives on the {len(perth_fp)} unmarked clips: {flagged} "
        f"(scores {[f'{s:.2f}' for s in perth_fp]})"
    )

    # False positives of synthguard on >= 1 hour of unmarked audio, scanned in 10 s windows.
    corpus: list[tuple[str, np.ndarray]] = []  # type: ignore[type-arg]
    voices = ("en", "en-us", "de", "fr", "es", "it", "pt", "nl")
    speech_parts = []
    total = 0
    i = 0
    while total < 20 * 60 * RATE:
        part = speech(i, voice=voices[i % len(voices)], speed=130 + 10 * (i % 5))
        speech_parts.append(part)
        total += len(part)
        i += 1
    corpus.append(("speech", np.concatenate(speech_parts)))
    corpus.append(("music", np.concatenate([music(60, RATE, 100 + s) for s in range(20)])))
    corpus.append(("noise", np.concatenate([noise(60, RATE, 200 + s) for s in range(20)])))
    hits = 0
    windows = 0
    seconds = 0.0
    t = time.perf_counter()
    for _, signal in corpus:
        step = int(audio.WINDOW_SECONDS * RATE)
        for start in range(0, len(signal) - step + 1, step):
            windows += 1
            hits += audio.detect(signal[start : start + step], RATE, ring).payload is not None
        seconds += len(signal) / RATE
    elapsed = time.perf_counter() - t
    print(
        f"\nsynthguard false positives: {hits} detections in {windows} windows of 10 s "
        f"({seconds / 3600:.2f} h unmarked speech+music+noise, "
        f"scanned at {seconds / elapsed:.0f}x real time); "
        f"analytic bound per detection <= 1e-6 (payload.decode_payload, {audio.CANDIDATES} trials)"
    )


if __name__ == "__main__":
    run_audio()
