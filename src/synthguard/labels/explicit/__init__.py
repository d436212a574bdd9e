"""Explicit labels (GB 45438-2025 显式标识): notices people see and hear, for every modality.

Text (start, end, middle; plain, Markdown, HTML; streaming), images (text at an edge or corner,
>= 5 % text height, adaptive plate, every animation frame), audio (Morse "AI" rhythm and spoken
notices), video (burnt into the first N seconds), interactive UI (badge + JSON), one dispatcher
(:func:`apply_explicit`) and the OCR-free finder of our image label (:func:`find_image_notice`).
"""

from synthguard.labels.explicit.apply import (
    ExplicitOptions,
    ExplicitResult,
    apply_explicit,
    media_kind,
    staged_explicit,
)
from synthguard.labels.explicit.audio import (
    MORSE_AI,
    AudioLabelOptions,
    AudioLabelResult,
    decode_rhythm,
    label_audio,
    notice_audio,
)
from synthguard.labels.explicit.detect import NoticeMatch, find_image_notice, standard_texts
from synthguard.labels.explicit.image import (
    ImageLabelOptions,
    ImageLabelResult,
    draw_notice,
    label_image,
    label_image_bytes,
)
from synthguard.labels.explicit.notice import GLYPH_TEXT, Notice, check_wording
from synthguard.labels.explicit.text import (
    NoticeStream,
    TextLabelOptions,
    awith_notice,
    label_text,
    label_text_file,
    with_notice,
)
from synthguard.labels.explicit.ui import badge_html, badge_json, badge_script
from synthguard.labels.explicit.video import VideoLabelOptions, VideoLabelResult, label_video

__all__ = [
    "GLYPH_TEXT",
    "MORSE_AI",
    "AudioLabelOptions",
    "AudioLabelResult",
    "ExplicitOptions",
    "ExplicitResult",
    "ImageLabelOptions",
    "ImageLabelResult",
    "Notice",
    "NoticeMatch",
    "NoticeStream",
    "TextLabelOptions",
    "VideoLabelOptions",
    "VideoLabelResult",
    "apply_explicit",
    "awith_notice",
    "badge_html",
    "badge_json",
    "badge_script",
    "check_wording",
    "decode_rhythm",
    "draw_notice",
    "find_image_notice",
    "label_audio",
    "label_image",
    "label_image_bytes",
    "label_text",
    "label_text_file",
    "label_video",
    "media_kind",
    "notice_audio",
    "staged_explicit",
    "standard_texts",
    "with_notice",
]
