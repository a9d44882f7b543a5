"""Loading, closing, model facts, and errors as MixconError."""

import gc

import pytest

import mixcon
from mixcon import MixconError, Status


def test_load_and_close(model_path):
    m = mixcon.Model(model_path)
    assert not m.closed
    assert m.n_vocab > 256 and m.n_layers == 8
    assert m.n_attention_layers + m.n_conba_layers == m.n_layers
    assert m.has_tokenizer and m.device == "cpu"
    assert m.metadata["name"] == "binding tests"
    assert m.config["vocab_size"] == m.n_vocab
    m.close()
    assert m.closed
    m.close()  # idempotent


def test_with_block_closes(model_path):
    with mixcon.Model(model_path) as m:
        assert m.n_vocab > 0
    assert m.closed


def test_load_from_bytes(model_path, model):
    with open(model_path, "rb") as f:
        data = f.read()
    with mixcon.Model.from_bytes(data) as m:
        assert m.n_params == model.n_params


def test_missing_file_raises_io_with_message(tmp_path):
    missing = tmp_path / "no-such-model.mixc"
    with pytest.raises(MixconError) as info:
        mixcon.Model(missing)
    assert info.value.status == Status.IO
    assert "no-such-model.mixc" in info.value.message
    assert "IO" in str(info.value)


def test_damaged_file_raises_format(tmp_path):
    bad = tmp_path / "garbage.mixc"
    bad.write_bytes(b"not a model at all" * 10)
    with pytest.raises(MixconError) as info:
        mixcon.Model(bad)
    assert info.value.status == Status.FORMAT
    assert info.value.message


def test_bad_option_raises_invalid_argument(model_path):
    with pytest.raises(MixconError) as info:
        mixcon.Model(model_path, device="tpu")
    assert info.value.status == Status.INVALID_ARGUMENT
    with pytest.raises(MixconError) as info:
        mixcon.Sampler(temperature=-1.0)
    assert info.value.status == Status.INVALID_ARGUMENT
    assert info.value.message  # the library's own explanation


def test_version_and_backends():
    assert mixcon.__version__.count(".") == 2
    assert mixcon.abi_version == 1
    assert mixcon.backend_available("cpu")
    assert mixcon.backend_available("auto")
    with pytest.raises(MixconError):
        mixcon.backend_available("tpu")


def test_status_names_match_the_library():
    for status in Status:
        assert mixcon.native.status_name(int(status)) == status.name


def test_use_after_close_raises(model_path):
    m = mixcon.Model(model_path)
    m.close()
    for call in (lambda: m.n_vocab, lambda: m.tokenize("x"), lambda: m.session()):
        with pytest.raises(MixconError) as info:
            call()
        assert info.value.status == Status.INVALID_ARGUMENT
        assert "closed" in info.value.message


def test_model_freed_before_its_sessions(model_path):
    # A session keeps its model alive: closing or collecting the model first
    # must not break the session (GC finalizes in any order).
    m = mixcon.Model(model_path)
    s = m.session()
    m.close()
    del m
    gc.collect()
    s.feed([1, 5, 6])
    assert s.step(mixcon.Sampler.greedy()) >= 0
    assert len(s.logits()) > 0
    with s.fork() as child:
        assert len(list(child.generate(mixcon.Sampler(seed=1), 3))) <= 3
    s.close()


def test_collected_handles_are_freed(model_path):
    for _ in range(5):
        m = mixcon.Model(model_path, threads=1)
        m.session(max_context=64).feed([1, 2])
        del m
    gc.collect()
