#!/usr/bin/env python3
"""Streams a continuation of a prompt with the mixcon Python binding.

    PYTHONPATH=build/bindings/python python3 samples/python/generate.py "The jury said"

The prompt comes from the arguments, else from stdin. On a terminal with no
arguments it is a small loop: each line you type is appended to the same
session (the model keeps the whole conversation) and continued.
"""

import argparse
import sys

import mixcon


def stream(session, sampler, max_tokens):
    for piece in session.generate(sampler, max_tokens):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prompt", nargs="*", help="prompt words (default: read stdin)")
    ap.add_argument("-m", "--model", default="models/mixcon-brown.mixc")
    ap.add_argument("-n", "--tokens", type=int, default=64, help="tokens to generate")
    ap.add_argument("--temp", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    try:
        with mixcon.Model(args.model) as model, model.session() as session, \
                mixcon.Sampler(temperature=args.temp, top_p=args.top_p, seed=args.seed) as sampler:
            if args.prompt or not sys.stdin.isatty():
                prompt = " ".join(args.prompt) if args.prompt else sys.stdin.read().rstrip("\n")
                session.feed_text(prompt)  # prefill: the whole prompt in one call
                sys.stdout.write(prompt)
                stream(session, sampler, args.tokens)
                return 0
            print(f"{args.model}: type a line, Ctrl-D to quit", file=sys.stderr)
            for line in sys.stdin:
                session.feed_text(line.rstrip("\n"))
                stream(session, sampler, args.tokens)
            return 0
    except mixcon.MixconError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
