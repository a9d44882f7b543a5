"""Shared fixtures: the models the tests run on and the C reference program.

ctest sets MIXCON_TEST_MODEL (the build's tiny random model with a trained
SentencePiece tokenizer), MIXCON_DEFAULT_MODEL (models/mixcon-brown.mixc) and
MIXCON_GREEDY_TOKENS (a C program printing the C API's greedy tokens)."""

import os
import subprocess

import pytest

import mixcon


def _env_path(name):
    path = os.environ.get(name)
    if not path:
        pytest.fail(f"{name} is not set; run these tests through ctest")
    return path


@pytest.fixture(scope="session")
def model_path():
    path = _env_path("MIXCON_TEST_MODEL")
    assert os.path.exists(path), f"test model {path} was not built"
    return path


@pytest.fixture(scope="session")
def model(model_path):
    with mixcon.Model(model_path, threads=1) as m:
        yield m


@pytest.fixture(scope="session")
def default_model_path():
    path = _env_path("MIXCON_DEFAULT_MODEL")
    if not os.path.exists(path):
        pytest.skip(f"default model {path} is not in the tree yet")
    return path


@pytest.fixture(scope="session")
def c_greedy_tokens():
    """(model path, n, prompt tokens) -> the C API's greedy continuation."""
    exe = _env_path("MIXCON_GREEDY_TOKENS")

    def run(path, n, prompt):
        out = subprocess.run([exe, path, str(n)] + [str(t) for t in prompt],
                             check=True, capture_output=True, text=True, timeout=120)
        return [int(t) for t in out.stdout.split()]

    return run
