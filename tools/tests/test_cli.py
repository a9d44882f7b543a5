import subprocess
import sys

from conftest import TOOLS
from mixcon_tools import mixc_format as mf


def run(*args):
    return subprocess.run([sys.executable, "-m", "mixcon_tools", *args], cwd=TOOLS, capture_output=True, text=True)


def test_random_inspect_convert(tmp_path):
    out = tmp_path / "r.mixc"
    r = run("random", "--preset", "tiny-random", "--seed", "3", "--dtype", "q8_0", "--codec", "zstd",
            "--no-delay", "--rope-theta", "500", "--tie", "--out", str(out))
    assert r.returncode == 0, r.stderr
    f = mf.read_file(str(out))
    assert f.config["conba"]["features"]["delay"] is False and f.config["tie_embeddings"]
    assert f.tensors["tok_embeddings"].dtype == "q8_0"
    r = run("inspect", str(out))
    assert r.returncode == 0 and "tok_embeddings" in r.stdout and "q8_0" in r.stdout
    # same seed, same bytes
    out2 = tmp_path / "r2.mixc"
    run("random", "--preset", "tiny-random", "--seed", "3", "--dtype", "q8_0", "--codec", "zstd",
        "--no-delay", "--rope-theta", "500", "--tie", "--out", str(out2))
    assert out.read_bytes() == out2.read_bytes()


def test_errors_are_one_line_with_status(tmp_path):
    bad = tmp_path / "bad.mixc"
    bad.write_bytes(b"not a model file at all, just some bytes")
    r = run("inspect", str(bad))
    assert r.returncode == 1 and "FORMAT" in r.stderr and "magic" in r.stderr
