#!/usr/bin/env python3
"""A tavern keeper whose dialogue branches: the use case cheap session state is for.

    PYTHONPATH=build/bindings/python python3 samples/game-npc/npc.py

The scene is fed once. At the player's choice point the session is forked, so
both answers are explored from the same memory without feeding the scene
again. The state is also saved as bytes (what a save game would store), the
conversation goes on, and loading the bytes rewinds the NPC to the choice
point, where a third line is tried.
"""

import argparse
import sys

import mixcon

SCENE = ("The rain had not stopped for three days. The traveller pushed open the door of the "
         "Crooked Lantern, and the innkeeper looked up from the counter.\n"
         "Innkeeper: \"Welcome, stranger. You look like the road has not been kind to you.\"\n")
CHOICES = [
    "Do you have a room for the night?",
    "Have you seen anything strange on the north road?",
]
REWIND_CHOICE = "I am looking for work. Does anyone here need a strong pair of hands?"


def npc_reply(session, player_line, sampler, max_tokens):
    """Feeds the player's line and streams the innkeeper's answer, up to the
    closing quote (or max_tokens)."""
    session.feed_text(f"Traveller: \"{player_line}\"\nInnkeeper: \"")
    sys.stdout.write(f"  Traveller: {player_line}\n  Innkeeper: \"")
    for piece in session.generate(sampler, max_tokens):
        end = piece.find('"')
        sys.stdout.write(piece if end < 0 else piece[:end + 1])
        sys.stdout.flush()
        if end >= 0:
            break
    sys.stdout.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--model", default="models/mixcon-brown.mixc")
    ap.add_argument("-n", "--tokens", type=int, default=40, help="tokens per NPC reply")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    with mixcon.Model(args.model) as model, model.session() as npc:
        npc.feed_text(SCENE)
        print(SCENE)

        # The save point. Its size is mostly the attention layers' KV cache;
        # the Conba layers' state does not grow with the text.
        checkpoint = npc.save_state()
        at_choice = npc.position
        print(f"[choice point: {at_choice} tokens, state saved as {len(checkpoint)} bytes]\n")

        # Explore both answers from the same memory: a fork copies the state,
        # it does not re-read the scene.
        for i, line in enumerate(CHOICES):
            with npc.fork() as branch, mixcon.Sampler(temperature=0.7, seed=args.seed + i) as sampler:
                print(f"Branch {i + 1}:")
                npc_reply(branch, line, sampler, args.tokens)
                print(f"  [branch at {branch.position} tokens; the original is still at {npc.position}]\n")

        # Take the first branch for real, then rewind: loading the bytes puts
        # the NPC back at the choice point, as if the talk never happened.
        with mixcon.Sampler(temperature=0.7, seed=args.seed) as sampler:
            print("The player picks branch 1:")
            npc_reply(npc, CHOICES[0], sampler, args.tokens)
            print(f"  [{npc.position} tokens]\n")
            npc.load_state(checkpoint)
            assert npc.position == at_choice
            print(f"[rewound to the choice point: {npc.position} tokens]\n")
            print("A different answer after the rewind:")
            npc_reply(npc, REWIND_CHOICE, sampler, args.tokens)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except mixcon.MixconError as e:
        print(f"npc.py: {e}", file=sys.stderr)
        sys.exit(1)
