"""``ptalker evaluate``: a trained checkpoint (the session's ``tiny_trained``) animates the test
split, is scored, and its plots are drawn; the style options' errors."""

from __future__ import annotations

import pytest

from ptalker.cli import main
from ptalker.errors import PtalkerError
from ptalker.evaluation.evaluate import evaluate

TEST_SPEAKER = "S04"
"""tiny_corpus's only test speaker."""
TEST_CLIPS = [f"{TEST_SPEAKER}_sentence03", f"{TEST_SPEAKER}_sentence04"]
"""tiny_corpus's test split."""


def test_evaluate(tiny_trained, tmp_path, capsys):
    corpus, checkpoint = tiny_trained.corpus, tiny_trained.checkpoint
    result = evaluate(checkpoint, corpus, tmp_path / "eval")
    assert sorted(p.name for p in result.pred_dir.glob("*.npy")) == [f"{clip}.npy" for clip in TEST_CLIPS]
    assert result.report.lve > 0 and (tmp_path / "eval" / "scores.json").is_file()
    with pytest.raises(PtalkerError, match="not a training speaker"):
        evaluate(checkpoint, corpus, tmp_path / "eval2", style="identity")
    with pytest.raises(PtalkerError, match="subject other than"):
        evaluate(checkpoint, corpus, tmp_path / "eval3", style="other")
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(corpus), "--out", str(tmp_path / "e4"),
                 "--style", "neutral", "--plots"]) == 0
    assert "lve" in capsys.readouterr().out.lower() and (tmp_path / "e4" / "scores.json").is_file()
    plots = tmp_path / "e4" / "plots"
    assert (plots / "lve.png").is_file() and sorted(p.name for p in (plots / "lips").iterdir()) == \
        [f"{clip}.png" for clip in TEST_CLIPS]
    assert main(["plot", "lve", str(tmp_path / "eval" / "scores.json"), str(tmp_path / "e4" / "scores.json"),
                 "--out", str(tmp_path / "both.png")]) == 0
    assert main(["plot", "training", str(checkpoint.parent), "--out", str(tmp_path / "curves.png")]) == 0
    pred = tmp_path / "e4" / "pred" / f"{TEST_CLIPS[0]}.npy"
    assert main(["plot", "lips", str(pred), "--fps", "30", "--truth", str(corpus / "vertices_npy" / pred.name),
                 "--timeline", str(corpus / "align" / f"{TEST_CLIPS[0]}.json"),
                 "--out", str(tmp_path / "lips.png")]) == 0
    assert all((tmp_path / name).stat().st_size > 10000 for name in ("both.png", "curves.png", "lips.png"))


def test_evaluate_scores_a_cheaper_encoder_path(tiny_trained, tmp_path):
    """--encoder reaches the model: ONNX scores as float does (same features to float precision),
    int8 differs a little, and evaluation.json records the path."""
    import json

    corpus, checkpoint = tiny_trained.corpus, tiny_trained.checkpoint
    lve = {}
    for encoder in ("float", "onnx", "int8"):
        assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(corpus), "--out",
                     str(tmp_path / encoder), "--encoder", encoder]) == 0
        lve[encoder] = json.loads((tmp_path / encoder / "scores.json").read_text())["lve"]
        assert json.loads((tmp_path / encoder / "evaluation.json").read_text())["encoder"] == encoder
    assert lve["onnx"] == pytest.approx(lve["float"], rel=1e-4)
    assert lve["int8"] != lve["float"] and lve["int8"] == pytest.approx(lve["float"], rel=0.2)
