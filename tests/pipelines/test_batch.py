"""``ptalker batch``: many files with one model load, a bad file failing alone, the ledger, re-runs
that skip what is done and retry what failed, a kill -9 half-way, two batches on one folder, workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

from ptalker.audio.io import load_audio
from ptalker.cli import main
from ptalker.pipelines.batch import LEDGER_FILE
from ptalker.pipelines.output_folder import LOCK_FILE, MANIFEST_FILE

SENTENCES = ("S04_sentence03", "S04_sentence04", "S03_sentence03")


def _speech(tiny_corpus, folder, count=3, seconds=1.0):
    """``count`` one-second pieces of the corpus's speech as a_0.wav, a_1.wav, ... in ``folder``."""
    folder.mkdir(exist_ok=True)
    for i in range(count):
        audio = load_audio(tiny_corpus / "wav" / f"{SENTENCES[i % len(SENTENCES)]}.wav")
        soundfile.write(folder / f"a_{i}.wav", audio[: int(16000 * seconds)], 16000, subtype="FLOAT")
    return folder


def _ledger(out):
    return [json.loads(line) for line in (out / LEDGER_FILE).read_text().splitlines()]


def _agrees(out, names):
    """Every name done exactly once in the ledger, its folder complete, nothing half-written left."""
    done = [r["name"] for r in _ledger(out) if r["status"] == "done"]
    assert sorted(done) == sorted(names), done
    for name in names:
        assert (out / name / MANIFEST_FILE).is_file() and np.load(out / name / "vertices.npy").shape[0] == 30
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "no temporary folders or lock left"


def test_batch_of_a_manifest_with_a_bad_file_then_a_rerun(tiny_trained, tiny_corpus, tmp_path, capsys):
    """A bad file in the middle fails alone (exit 1, its error in the ledger); a re-run skips the
    done files and retries the failed one once it is fixed (exit 0)."""
    speech = _speech(tiny_corpus, tmp_path / "speech")
    soundfile.write(speech / "bad.wav", np.zeros(160, np.float32) + 0.1, 16000)  # 10 ms
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("audio,name,format,speaker,strength\n"
                        "speech/a_0.wav,first,npy,,\n"
                        "speech/bad.wav,broken,,,\n"
                        "speech/a_1.wav,second,obj;npy,S01,0.5\n"
                        "speech/a_2.wav,,,,\n")
    out = tmp_path / "out"
    argv = ["batch", str(manifest), "--out", str(out), "--checkpoint", str(tiny_trained.checkpoint), "--audio-only",
            "--format", "npy", "--quiet"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "3 done" in captured.out and "1 failed" in captured.out and "broken" in captured.out
    assert "broken failed" in captured.err and "at least 100 ms" in captured.err
    records = {r["name"]: r for r in _ledger(out)}
    assert records["broken"]["status"] == "failed" and "bad.wav" in records["broken"]["error"]
    assert records["second"]["outputs"] == ["second/animation.npy", "second/obj", "second/sequence.json",
                                            "second/vertices.npy"]
    assert len(list((out / "second" / "obj").glob("*.obj"))) == 30
    assert not (out / "broken").exists()
    first = (out / "first" / "vertices.npy").stat().st_mtime_ns

    soundfile.write(speech / "bad.wav", load_audio(speech / "a_0.wav"), 16000, subtype="FLOAT")  # fixed
    assert main(argv) == 0
    assert "1 done" in capsys.readouterr().out
    assert (out / "first" / "vertices.npy").stat().st_mtime_ns == first, "done files are skipped"
    assert [r["status"] for r in _ledger(out) if r["name"] == "broken"] == ["failed", "done"]
    _agrees(out, ["first", "broken", "second", "a_2"])
    assert main(argv) == 0 and "0 done" in capsys.readouterr().out


def test_manifest_errors(tiny_trained, tiny_corpus, tmp_path, capsys):
    """Structural errors stop the run (exit 2, nothing written); a bad value fails its row only."""
    speech = _speech(tiny_corpus, tmp_path / "speech", count=1)
    out = tmp_path / "out"
    for text, words in (('{"audio": "speech/a_0.wav", "colour": "red"}\n', "unknown column"),
                        ('{"audio": "speech/a_0.wav"}\n{"audio": "speech/a_0.wav"}\n', "two jobs are named 'a_0'"),
                        ('{"audio": "speech/a_0.wav", "name": "../up"}\n', "cannot be a folder name")):
        (tmp_path / "jobs.jsonl").write_text(text)
        assert main(["batch", str(tmp_path / "jobs.jsonl"), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
        assert not out.exists()
    (tmp_path / "jobs.jsonl").write_text(json.dumps({"audio": "speech/a_0.wav", "strength": "strong"}) + "\n"
                                         + json.dumps({"audio": str(speech / "a_0.wav"), "name": "ok"}) + "\n")
    assert main(["batch", str(tmp_path / "jobs.jsonl"), "--out", str(out), "--checkpoint",
                 str(tiny_trained.checkpoint), "--audio-only", "--format", "npy", "--quiet"]) == 1
    records = {r["name"]: r for r in _ledger(out)}
    assert records["a_0"]["status"] == "failed" and "strength 'strong'" in records["a_0"]["error"]
    assert records["ok"]["status"] == "done"
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    assert main(["batch", str(speech), "--out", str(user), "--quiet"]) == 2
    assert "did not write" in capsys.readouterr().err


def test_kill_mid_run_then_rerun_and_a_second_batch_refused(tiny_trained, tiny_corpus, tmp_path, capsys):
    """kill -9 of a running batch after its first ledger line; meanwhile a second batch on the same
    folder is refused; a re-run takes over the stale lock and completes every file exactly once."""
    speech = _speech(tiny_corpus, tmp_path / "speech", count=8)
    out = tmp_path / "out"
    argv = ["batch", str(speech), "--out", str(out), "--checkpoint", str(tiny_trained.checkpoint),
            "--audio-only", "--format", "npy", "obj", "--quiet"]
    process = subprocess.Popen([sys.executable, "-m", "ptalker", *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ((out / LEDGER_FILE).is_file() and (out / LEDGER_FILE).read_text().strip()):
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "no ledger line in 120 s"
            time.sleep(0.05)
        second = main(argv)
        err = capsys.readouterr().err
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
    if process.returncode == -signal.SIGKILL:  # it was still running: the second batch was refused
        assert second == 2 and "another ptalker process" in err and f"pid {process.pid}" in err, err
        assert (out / LOCK_FILE).is_file()
    assert main(argv) == 0
    _agrees(out, [f"a_{i}" for i in range(8)])


def test_workers_give_the_same_outputs(tiny_trained, tiny_corpus, tmp_path):
    speech = _speech(tiny_corpus, tmp_path / "speech", count=3)
    common = ["--checkpoint", str(tiny_trained.checkpoint), "--audio-only", "--format", "npy", "--quiet"]
    assert main(["batch", str(speech), "--out", str(tmp_path / "one"), *common]) == 0
    assert main(["batch", str(speech), "--out", str(tmp_path / "two"), "--workers", "2", *common]) == 0
    for i in range(3):
        np.testing.assert_allclose(np.load(tmp_path / "two" / f"a_{i}" / "vertices.npy"),
                                   np.load(tmp_path / "one" / f"a_{i}" / "vertices.npy"), atol=1e-5)
    _agrees(tmp_path / "two", [f"a_{i}" for i in range(3)])


def test_batch_on_a_local_ray_cluster(tiny_trained, tiny_corpus, tmp_path):
    """``--ray`` runs the same jobs through Ray Data actors; the vertices equal a local run's and
    the ledger and folders agree (Ray is the optional 'cluster' extra, installed with 'dev')."""
    pytest.importorskip("ray")
    speech = _speech(tiny_corpus, tmp_path / "speech", count=2)
    common = [str(speech), "--checkpoint", str(tiny_trained.checkpoint), "--audio-only", "--format", "npy", "--quiet"]
    assert main(["batch", *common, "--out", str(tmp_path / "local")]) == 0
    assert main(["batch", *common, "--out", str(tmp_path / "ray"), "--ray", "--workers", "1"]) == 0
    _agrees(tmp_path / "ray", ["a_0", "a_1"])
    for name in ("a_0", "a_1"):
        np.testing.assert_allclose(np.load(tmp_path / "ray" / name / "vertices.npy"),
                                   np.load(tmp_path / "local" / name / "vertices.npy"), atol=1e-5)


def test_batch_with_another_encoder_is_another_job(tiny_trained, tiny_corpus, tmp_path):
    """``--encoder`` reaches the model, and a finished file is redone when the encoder changes."""
    speech = _speech(tiny_corpus, tmp_path / "speech", count=1)
    out = tmp_path / "out"
    common = [str(speech), "--out", str(out), "--checkpoint", str(tiny_trained.checkpoint), "--audio-only",
              "--format", "npy", "--quiet"]
    assert main(["batch", *common]) == 0
    assert main(["batch", *common, "--encoder", "int8"]) == 0
    keys = [r["key"] for r in _ledger(out)]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert main(["batch", *common, "--encoder", "int8"]) == 0
    assert len(_ledger(out)) == 2  # done with the same encoder: skipped


def test_a_job_past_its_timeout_fails_alone_and_is_retried(tiny_trained, tiny_corpus, tmp_path, capsys, monkeypatch):
    """A job that hangs (here: sleeps) past --timeout fails with a one-line reason, its folder
    removed; the others are done; a re-run without the hang finishes it."""
    from ptalker.pipelines import batch_run

    speech = _speech(tiny_corpus, tmp_path / "speech", count=3)
    real = batch_run._animate_job

    def hangs_on_a_1(animator, job, *args):
        if job.name == "a_1":
            time.sleep(30)
        return real(animator, job, *args)

    monkeypatch.setattr(batch_run, "_animate_job", hangs_on_a_1)
    out = tmp_path / "out"
    argv = ["batch", str(speech), "--out", str(out), "--checkpoint", str(tiny_trained.checkpoint), "--audio-only",
            "--format", "npy", "--quiet", "--timeout", "1.5"]
    start = time.perf_counter()
    assert main(argv) == 1
    assert time.perf_counter() - start < 25, "the hanging job was not stopped"
    assert "a_1 failed: timed out after 1.5 s" in capsys.readouterr().err
    records = {r["name"]: r for r in _ledger(out)}
    assert records["a_1"]["status"] == "failed" and not (out / "a_1").exists()
    assert records["a_0"]["status"] == records["a_2"]["status"] == "done"
    monkeypatch.setattr(batch_run, "_animate_job", real)
    assert main(argv) == 0
    _agrees(out, ["a_0", "a_1", "a_2"])


@pytest.mark.parametrize("where", ["workers", "ray"])
def test_the_timeout_reaches_worker_processes_and_ray_actors(tiny_trained, tiny_corpus, tmp_path, capsys, where):
    """A limit no job can meet (1 ms) fails every job in spawned workers and in Ray actors alike."""
    if where == "ray":
        pytest.importorskip("ray")
    speech = _speech(tiny_corpus, tmp_path / "speech", count=2)
    extra = ["--workers", "2"] if where == "workers" else ["--ray", "--workers", "1"]
    assert main(["batch", str(speech), "--out", str(tmp_path / "out"), "--checkpoint", str(tiny_trained.checkpoint),
                 "--audio-only", "--format", "npy", "--quiet", "--timeout", "0.001", *extra]) == 1
    assert "2 failed" in capsys.readouterr().out
    assert all(r["status"] == "failed" and "timed out" in r["error"] for r in _ledger(tmp_path / "out"))


def test_time_limit_stops_a_busy_loop_on_the_main_thread_and_on_others():
    import threading

    from ptalker.pipelines.batch_run import JobTimeout, time_limit

    def busy(limit):
        with time_limit(limit):
            end = time.perf_counter() + 5
            while time.perf_counter() < end:
                pass

    start = time.perf_counter()
    with pytest.raises(JobTimeout):
        busy(0.2)
    assert time.perf_counter() - start < 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "the timer was left running"
    outcome = []

    def in_a_thread():
        try:
            busy(0.2)
            outcome.append("finished")
        except JobTimeout:
            outcome.append("timed out")
        with time_limit(5.0):  # a job within its limit is left alone
            time.sleep(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=in_a_thread)
    start = time.perf_counter()
    thread.start()
    thread.join()
    assert outcome == ["timed out", "finished"] and time.perf_counter() - start < 2
