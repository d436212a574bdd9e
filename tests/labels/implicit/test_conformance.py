"""Every format plugin x every generated sample: the GB 45438 contract, checked the same way.

write -> read gives one compliant label; rewriting keeps exactly one; the content digest (media bytes
outside metadata) is unchanged; ``out=`` leaves the source byte-identical.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from synthguard.labels import implicit
from synthguard.labels.model import AIGCLabel, Verdict
from tests.conftest import PLATFORM
from tests.media import all_samples

SAMPLES = all_samples()


@pytest.fixture(params=sorted(SAMPLES))
def sample(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return SAMPLES[request.param](tmp_path)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_plugin_writes(tmp_path: Path) -> None:
    assert [p.name for p in implicit.plugins() if not p.writable] == []


def test_every_plugin_is_exercised_by_a_sample(tmp_path: Path) -> None:
    covered = {implicit.identify_path(make(tmp_path / name.replace(".", "_"))).name for name, make in _made()}
    missing = {p.name for p in implicit.plugins()} - covered
    assert not missing, f"formats without a test sample: {sorted(missing)}"


def _made():  # type: ignore[no-untyped-def]
    for name, make in sorted(SAMPLES.items()):
        yield name, lambda folder, make=make: (folder.mkdir(parents=True, exist_ok=True), make(folder))[1]


def test_written_label_reads_back_compliant(sample: Path, label: AIGCLabel, tmp_path: Path) -> None:
    out = tmp_path / "out" / sample.name
    out.parent.mkdir()
    implicit.write_label(sample, label, out)
    finding = implicit.read_label(out)
    assert finding.verdict is Verdict.COMPLIANT, finding.problems
    assert finding.label == label
    assert len(finding.carriers) == 1


def test_rewrite_keeps_exactly_one_label(sample: Path, label: AIGCLabel) -> None:
    implicit.write_label(sample, label)
    second = label.replace(ContentPropagator=PLATFORM, PropagateID="platform-42-" + "x" * 40)
    implicit.write_label(sample, second)
    implicit.write_label(sample, label)
    finding = implicit.read_label(sample)
    assert finding.verdict is Verdict.COMPLIANT, finding.problems
    assert finding.label == label
    assert len(finding.carriers) == 1


def test_labeling_never_changes_the_content_digest(sample: Path, label: AIGCLabel) -> None:
    before = {name: implicit.content_digest(sample, name) for name in implicit.CONTENT_DIGESTS}
    assert before["sha256"] != before["blake3"]  # the algorithm really is the caller's choice
    implicit.write_label(sample, label)
    assert {name: implicit.content_digest(sample, name) for name in before} == before
    implicit.write_label(sample, label.replace(PropagateID="a-much-longer-propagate-id-" + "7" * 30))
    assert {name: implicit.content_digest(sample, name) for name in before} == before


def test_writing_to_out_leaves_the_source_byte_identical(
    sample: Path, label: AIGCLabel, tmp_path: Path
) -> None:
    before = _sha(sample)
    out = tmp_path / "copy" / sample.name
    out.parent.mkdir()
    implicit.write_label(sample, label, out)
    assert _sha(sample) == before
    assert not list(sample.parent.glob("*.sgtmp"))
