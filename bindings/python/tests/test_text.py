"""Tokenizer round trips and streamed text."""

import pytest

import mixcon

TEXTS = [
    "The jury said that the city",
    "Grüße aus Köln, naïve café",
    "東京 and Москва",
    "emoji: 😀🎉 done",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip_on_test_model(model, text):
    tokens = model.tokenize(text, add_bos=False)
    assert all(isinstance(t, int) and 0 <= t < model.n_vocab for t in tokens)
    assert model.detokenize(tokens) == text


def test_add_bos(model):
    assert model.tokenize("hello", add_bos=True)[0] == model.bos_id
    assert model.tokenize("hello", add_bos=False)[0] != model.bos_id


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip_on_default_model(default_model_path, text):
    with mixcon.Model(default_model_path) as m:
        assert m.has_tokenizer
        assert m.detokenize(m.tokenize(text, add_bos=False)) == text


def test_bytes_in_equal_str_in(model):
    text = "smörgåsbord 😀"
    assert model.tokenize(text.encode("utf-8")) == model.tokenize(text)


def test_stream_pieces_concatenate_to_detokenized_history(model):
    with model.session() as s:
        prompt = model.tokenize("The river rose", add_bos=True)
        s.feed(prompt)
        pieces = list(s.generate(mixcon.Sampler(seed=7), max_tokens=40, stop_at_eos=False))
        assert all(isinstance(p, str) for p in pieces)
        streamed = model.detokenize(prompt) + "".join(pieces) + s.flush_text()
        assert streamed == model.detokenize(s.tokens())
        assert s.position == len(prompt) + 40


def test_feed_text_equals_feed_tokens(model):
    with model.session() as a, model.session() as b:
        a.feed_text("The letter arrived")
        b.feed(model.tokenize("The letter arrived"))
        assert a.tokens() == b.tokens()
        assert a.logits() == b.logits()


def test_token_pieces_concatenate_to_the_text(model):
    text = "naïve café 😀"
    tokens = model.tokenize(text, add_bos=False)
    joined = b"".join(model.token_to_piece(t) for t in tokens)
    # Detokenization drops the leading space SentencePiece adds to a text.
    assert joined.decode("utf-8").removeprefix(" ") == text
