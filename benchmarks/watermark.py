"""Every watermark benchmark in one run: image, video, audio, LLM text and image false positives.

Issue 4 names ``benchmarks/watermark.py``; the work lives in one script per modality (each prints
its own table with its peers: invisible-watermark and blind-watermark for images, resemble-perth
for audio, a GPT-2-small-sized model for the text processor's overhead), so each can be run and
read on its own. This runs them one after another with the same interpreter and stops at the
first that fails.

Run: ``.venv-bench/bin/python benchmarks/watermark.py [--skip video ...]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "image": "watermark_image.py",
    "false_positives": "watermark_false_positives.py",
    "video": "watermark_video.py",
    "audio": "watermark_audio.py",
    "text": "watermark_text.py",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(SCRIPTS))
    args = parser.parse_args()
    for name, script in SCRIPTS.items():
        if name in args.skip:
            continue
        print(f"\n=== {name}: benchmarks/{script} ===", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)


if __name__ == "__main__":
    main()
