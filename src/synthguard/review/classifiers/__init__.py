"""Classifiers behind one interface: ``classify(Content) -> list[Score]`` (scores per risk)."""

from synthguard.review.classifiers.base import MODALITIES, Classifier, Content, Score
from synthguard.review.classifiers.face import FaceDetector
from synthguard.review.classifiers.http import HttpModeration
from synthguard.review.classifiers.nudity import NudityClassifier
from synthguard.review.classifiers.pii import ChinesePII, find_pii, luhn_ok
from synthguard.review.classifiers.video import VideoFrames
from synthguard.review.classifiers.voice import VoiceDetector

__all__ = [
    "MODALITIES",
    "ChinesePII",
    "Classifier",
    "Content",
    "FaceDetector",
    "HttpModeration",
    "NudityClassifier",
    "Score",
    "VideoFrames",
    "VoiceDetector",
    "find_pii",
    "luhn_ok",
]
