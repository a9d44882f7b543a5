"""Generation against the C API, logits, state bytes, fork, misuse, memory."""

import array
import math

import pytest

import mixcon
from mixcon import MixconError, Status

PROMPT = [1, 17, 42, 99, 123, 7]


def test_greedy_equals_c_api(model, model_path, c_greedy_tokens):
    expected = c_greedy_tokens(model_path, 12, PROMPT)
    with model.session() as s:
        s.feed(PROMPT)
        greedy = mixcon.Sampler.greedy()
        assert [s.step(greedy) for _ in range(12)] == expected


def test_greedy_equals_c_api_on_default_model(default_model_path, c_greedy_tokens):
    with mixcon.Model(default_model_path) as m, m.session() as s:
        prompt = m.tokenize("The jury said that the city", add_bos=True)
        expected = c_greedy_tokens(default_model_path, 8, prompt)
        s.feed(prompt)
        greedy = mixcon.Sampler.greedy()
        assert [s.step(greedy) for _ in range(8)] == expected


def test_greedy_token_is_argmax_of_logits(model):
    with model.session() as s:
        s.feed(PROMPT)
        logits = s.logits()
        assert isinstance(logits, array.array) and len(logits) == model.n_vocab
        assert all(math.isfinite(x) for x in logits)
        best = max(range(len(logits)), key=logits.__getitem__)
        assert s.sample(mixcon.Sampler.greedy()) == best
        assert s.position == len(PROMPT)  # sample() does not feed


def test_seeded_sampling_is_reproducible(model):
    def run():
        with model.session() as s:
            s.feed(PROMPT)
            sampler = mixcon.Sampler(temperature=1.0, top_k=50, seed=1234)
            return [s.step(sampler) for _ in range(10)]

    assert run() == run()


def test_state_round_trip(model):
    greedy = mixcon.Sampler.greedy()
    with model.session() as s:
        s.feed(PROMPT)
        state = s.save_state()
        assert isinstance(state, bytes) and len(state) > 0
        logits = s.logits()
        first = [s.step(greedy) for _ in range(6)]
        s.load_state(state)
        assert s.position == len(PROMPT)
        assert s.logits() == logits
        assert [s.step(greedy) for _ in range(6)] == first
        with model.session() as other:
            other.load_state(state)
            assert [other.step(greedy) for _ in range(6)] == first


def test_damaged_state_is_rejected_and_changes_nothing(model):
    with model.session() as s:
        s.feed(PROMPT)
        state = bytearray(s.save_state())
        s.feed([5])
        state[len(state) // 2] ^= 0xFF
        with pytest.raises(MixconError) as info:
            s.load_state(bytes(state))
        assert info.value.status in (Status.CHECKSUM, Status.FORMAT)
        assert s.position == len(PROMPT) + 1
        with pytest.raises(MixconError) as info:
            s.load_state(b"short")
        assert info.value.status == Status.FORMAT


def test_fork_is_independent(model):
    greedy = mixcon.Sampler.greedy()
    with model.session() as s:
        s.feed(PROMPT)
        with s.fork() as child:
            assert child.position == s.position
            assert child.tokens() == s.tokens()
            a = [child.step(greedy) for _ in range(5)]
            assert s.position == len(PROMPT)  # the parent did not move
            b = [s.step(greedy) for _ in range(5)]
            assert a == b
            child.feed([3, 3, 3])
            assert child.position == s.position + 3


def test_bad_token_raises_and_changes_nothing(model):
    with model.session() as s:
        s.feed(PROMPT)
        with pytest.raises(MixconError) as info:
            s.feed([1, model.n_vocab + 5])
        assert info.value.status == Status.INVALID_ARGUMENT
        assert "1" in info.value.message  # names the offending index
        assert s.position == len(PROMPT)
        with pytest.raises(OverflowError):
            s.feed([2**40])


def test_step_before_feed_raises(model):
    with model.session() as s:
        with pytest.raises(MixconError) as info:
            s.step(mixcon.Sampler.greedy())
        assert info.value.status == Status.INVALID_ARGUMENT


def test_context_full(model):
    with model.session(max_context=8) as s:
        assert s.max_context == 8
        assert s.memory_bytes > 0
        s.feed(PROMPT)
        with pytest.raises(MixconError) as info:
            s.feed([1, 2, 3])
        assert info.value.status == Status.CONTEXT_FULL
        assert s.position == len(PROMPT)


def test_cancel_stops_the_next_call_and_changes_nothing(model):
    # A cancel with no call running is observed by the next cancellable call.
    with model.session() as s:
        s.feed(PROMPT)
        s.cancel()
        with pytest.raises(MixconError) as info:
            s.feed([4, 5])
        assert info.value.status == Status.CANCELLED
        assert s.position == len(PROMPT)
        s.feed([4, 5])  # the flag was lowered
        assert s.position == len(PROMPT) + 2


def test_cancel_from_another_thread_while_generating(model):
    # Long calls release the GIL, so another Python thread can run (and
    # cancel) while a feed or step is in progress.
    import threading

    with model.session() as s:
        s.feed(PROMPT)
        running = threading.Event()
        errors = []

        def generate():
            sampler = mixcon.Sampler.greedy()
            try:
                for i in range(model.max_context - len(PROMPT)):
                    s.step(sampler)
                    if i == 5:
                        running.set()
            except MixconError as e:
                errors.append(e)
            running.set()

        worker = threading.Thread(target=generate)
        worker.start()
        assert running.wait(timeout=60)
        s.cancel()  # the one call documented as safe from another thread
        worker.join(timeout=60)
        assert not worker.is_alive()
        assert [e.status for e in errors] == [Status.CANCELLED]


def test_feed_releases_the_gil(model):
    # While one thread is inside a long feed, another Python thread keeps
    # running: count its loop iterations that fall strictly inside the feed.
    # The feed is made longer until it lasts long enough to measure (the
    # engine gets faster; the machine may be fast).
    import threading
    import time

    margin = 0.01
    window, ticks = {"start": 0.0, "end": 0.0}, []
    for reps in (5, 10, 20, 40, 80):
        tokens = list(range(3, 203)) * reps
        if len(tokens) > model.max_context:
            break
        window = {}
        done = threading.Event()

        def feed():
            with model.session() as s:
                window["start"] = time.monotonic()
                s.feed(tokens)
                window["end"] = time.monotonic()
            done.set()

        ticks = []
        worker = threading.Thread(target=feed)
        worker.start()
        while not done.is_set():
            ticks.append(time.monotonic())
        worker.join()
        if window["end"] - window["start"] > 3 * margin:
            break
    assert window["end"] - window["start"] > 3 * margin, "feed too short to measure"
    inside = [t for t in ticks if window["start"] + margin < t < window["end"] - margin]
    assert len(inside) > 100, f"only {len(inside)} iterations of the other thread ran during the feed"


def test_seed_keeps_all_64_bits(model):
    def run(seed):
        with model.session() as s:
            s.feed(PROMPT)
            sampler = mixcon.Sampler(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=seed)
            return [s.step(sampler) for _ in range(16)]

    # Seeds equal in their low 32 bits: a binding that narrowed int64 would
    # give the same tokens.
    assert run(1) != run(2**40 + 1)
    assert run(2**40 + 1) == run(2**40 + 1)


def test_use_after_close_raises_instead_of_crashing(model):
    s = model.session()
    sampler = mixcon.Sampler.greedy()
    s.feed(PROMPT)
    s.close()
    for call in (lambda: s.step(sampler), lambda: s.feed([1]), lambda: s.save_state(),
                 lambda: s.fork(), lambda: s.position, lambda: list(s.generate(sampler, 3))):
        with pytest.raises(MixconError) as info:
            call()
        assert info.value.status == Status.INVALID_ARGUMENT
    sampler.close()
    with model.session() as live:
        live.feed(PROMPT)
        with pytest.raises(MixconError):
            live.step(sampler)


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_many_sessions_do_not_leak(model):
    def cycle(n):
        for _ in range(n):
            s = model.session(max_context=256)
            s.feed([1, 2, 3])
            s.close()

    cycle(50)  # warm up allocator pools
    before = _rss_bytes()
    cycle(500)
    growth = _rss_bytes() - before
    assert growth < 8 * 1024 * 1024, f"RSS grew by {growth} bytes over 500 sessions"


def test_f16_kv_cache_is_smaller_and_its_state_moves_between_cache_types(model):
    with model.session(max_context=1024) as exact, \
            model.session(max_context=1024, kv_dtype="f16") as half:
        assert half.memory_bytes < exact.memory_bytes
        exact.feed(PROMPT)
        half.feed(PROMPT)
        f32_logits, f16_logits = exact.logits(), half.logits()
        scale = max(abs(x) for x in f32_logits)
        assert max(abs(a - b) for a, b in zip(f32_logits, f16_logits)) <= 5e-4 * scale
        state = half.save_state()
        assert len(state) < len(exact.save_state())
        # An f16 state loads into an f32 session (widened exactly) and back.
        exact.load_state(state)
        assert exact.tokens() == PROMPT
        half.reset()
        half.load_state(exact.save_state())
        assert half.save_state() == state


@pytest.mark.parametrize("bad", ["q4", "f64", None, 1])
def test_bad_kv_dtype_is_an_invalid_argument(model, bad):
    with pytest.raises(MixconError) as e:
        model.session(kv_dtype=bad)
    assert e.value.status == Status.INVALID_ARGUMENT
    assert "kv_dtype" in e.value.message


def test_prefill_chunk_plans_less_memory_and_gives_the_same_logits(model):
    with model.session(max_context=256) as whole, \
            model.session(max_context=256, prefill_chunk=4) as small:
        assert small.memory_bytes < whole.memory_bytes
        whole.feed(PROMPT)
        small.feed(PROMPT)
        a, b = whole.logits(), small.logits()
        scale = max(abs(x) for x in a)
        assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-4 * scale


def test_negative_prefill_chunk_is_an_invalid_argument(model):
    with pytest.raises(MixconError) as e:
        model.session(prefill_chunk=-1)
    assert e.value.status == Status.INVALID_ARGUMENT
    assert "prefill_chunk" in e.value.message


def test_int8_activations_leave_f32_weights_exact(model):
    # The test model's weights are all f32 (bindings/testing/make_test_model.cpp),
    # and activations="q8_0" only changes products with q8_0 weights: the
    # logits must be identical to the exact session's.
    # The same for "bf16", which only changes products with bf16 weights.
    for act in ("q8_0", "bf16"):
        with model.session(max_context=256) as exact, \
                model.session(max_context=256, activations=act) as narrow:
            exact.feed(PROMPT)
            narrow.feed(PROMPT)
            assert narrow.logits() == exact.logits(), act
            greedy = mixcon.Sampler.greedy()
            assert [narrow.step(greedy) for _ in range(4)] == [exact.step(greedy) for _ in range(4)]
    with mixcon.Session(model, max_context=256, activations="f32") as s:
        s.feed(PROMPT)
        assert s.position == len(PROMPT)


def test_int8_activations_move_q8_0_logits_a_little_on_default_model(default_model_path):
    # models/mixcon-brown.mixc has q8_0 weights: activations="q8_0" rounds
    # their products' input to int8, so the logits move, by a few 1e-3 of the largest.
    with mixcon.Model(default_model_path) as m, m.session() as exact, \
            m.session(activations="q8_0") as int8:
        prompt = m.tokenize("The jury said that the city", add_bos=True)
        exact.feed(prompt)
        int8.feed(prompt)
        a, b = exact.logits(), int8.logits()
        scale = max(abs(x) for x in a)
        diff = max(abs(x - y) for x, y in zip(a, b))
        assert 0 < diff <= 0.05 * scale


@pytest.mark.parametrize("bad", ["f16", "int8", None, 3])
def test_bad_activations_is_an_invalid_argument(model, bad):
    with pytest.raises(MixconError) as e:
        model.session(activations=bad)
    assert e.value.status == Status.INVALID_ARGUMENT
    assert "activation" in e.value.message
    assert "'f32'" in e.value.message and "'q8_0'" in e.value.message and "'bf16'" in e.value.message


def test_q8_kv_cache_needs_heads_of_whole_blocks(model):
    # The test model's heads of 16 are half a q8_0 block.
    with pytest.raises(MixconError) as e:
        model.session(kv_dtype="q8_0")
    assert e.value.status == Status.UNSUPPORTED
    assert "head_dim" in e.value.message
