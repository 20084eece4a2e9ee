#!/usr/bin/env python3
"""Regenerate the reference vectors for earful-sentiment's parity tests.

Needs the reference implementation, pinned: `pip install vadersentiment==3.3.2`.
Run from anywhere:

    python3 crates/sentiment/tests/vectors/make_vectors.py [GROUNDTRUTH_DIR]

GROUNDTRUTH_DIR defaults to `<workspace>/../shared/data/vader-groundtruth`.

Writes, next to this script:

- `<corpus>.tsv` for each of the four VADER ground-truth corpora: one row per sentence,
  `line<TAB>id<TAB>compound<TAB>pos<TAB>neu<TAB>neg`, in file order. The corpus texts are
  third-party and stay out of the crate; the test reads them from GROUNDTRUTH_DIR.
- `extra.jsonl`: texts written for this crate (adversarial cases plus a seeded random
  soup of lexicon words, rule words, emoji, casing, punctuation and odd Unicode), each
  `{"text": ..., "compound": ..., "pos": ..., "neu": ..., "neg": ...}`.

Floats are written with `repr`, which round-trips exactly, so the Rust test compares with `==`.
The numbers were generated with CPython 3.11 (`sum()` of floats is a plain left-to-right sum
there; CPython 3.12+ uses compensated summation, which can move the last bit).
"""
import json
import os
import random
import sys

import vaderSentiment
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
CORPORA = {
    "tweets": "tweets_GroundTruth.txt",
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}

ANALYZER = SentimentIntensityAnalyzer()


def score(text):
    s = ANALYZER.polarity_scores(text)
    return s["compound"], s["pos"], s["neu"], s["neg"]


def read_corpus(path):
    """Yield (line_number, id, text); the Rust test parses the file the same way."""
    with open(path, encoding="utf-8", newline="") as f:
        data = f.read()
    for number, line in enumerate(data.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        ident, _rating, text = line.split("\t", 2)
        yield number, ident, text


HAND_WRITTEN = [
    "",
    " ",
    "\t\n",
    "Hello world!",
    "Hello world",
    "VADER is smart, handsome, and funny.",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "😁😁😁",
    "I love it😍so much",
    "👍",
    "☺️ fine",
    "❤️❤️❤️ best day ever",
    "Not bad at all",
    "At least it isn't a horrible book.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "least good",
    "very least good thing",
    "This is the bomb",
    "that concert last night was the bomb",
    "the new release is the shit",
    "the new release is the shit!!!",
    "it was a kiss of death for the company",
    "yeah right, like that will work",
    "oh sure, yeah right, great",
    "we are living hand to mouth",
    "it does not cut the mustard",
    "he is under the weather today",
    "break a leg tonight",
    "the pizza is to die for",
    "wait at the bus stop please",
    "a beating heart of gold",
    "such a bad ass phone",
    "no problem at all",
    "no no no good",
    "there is no love or joy here",
    "no hope nor love",
    "NO",
    "no",
    "No good",
    "never so good",
    "never this happy",
    "without doubt the best",
    "without a doubt, excellent idea.",
    "I don't like it",
    "I dont like it",
    "I cannot believe how good this is",
    "it's kind of good",
    "it's sort of bad",
    "it's just enough good",
    "it is kinda great",
    "GREAT service",
    "THIS IS AWESOME",
    "this is AWESOME",
    "The service is GREAT but the food is TERRIBLE",
    "but",
    "BUT good",
    "good but",
    "good good but good good",
    "happy sad happy sad but happy sad",
    "why???",
    "really good???",
    "really good?? ok",
    "awful!!!!!!!!",
    "awful ! ! ! ! !",
    "?!?!?!",
    "!!!",
    "good!!!???",
    "https://example.com/great/awesome?love=1 is down",
    "check http://url_removed :( so sad",
    "<p>I <b>love</b> this</p>",
    "&amp; great &lt;3 &quot;bad&quot;",
    "@anonymous you are terrible #fail",
    "#love #hate",
    "I \u2764 NY",
    "\u0000\u0001 good \u0007 bad \u007f",
    "good\u001cbad\u001dgreat\u001eterrible\u001fok",
    "good\u0085bad\u00a0great\u2003terrible\u3000nice",
    "good\u200bbad",
    "\u212aill them all",
    "\u0130\u0131 love",
    "ΣΟΦΟΣ is great",
    "ǅungla is great",
    "ﬁne GREAT day",
    "straße GREAT",
    "CAFÉ IS GOOD but",
    "naïve café is lovely",
    "こんにちは 素晴らしい good",
    "Привет хорошо good",
    "مرحبا good",
    ":-) :-( ;) :P :D <3 </3",
    "(-: ):",
    "lol lmao rofl wtf",
    "ok.",
    "...",
    "-",
    "a",
    "I",
    "I AM SO HAPPY",
    "i am so happy",
    "I am so happy",
    "extremely bad",
    "EXTREMELY bad thing",
    "not very good",
    "not so very good at all",
    "it isn't the best but it isn't the worst",
    "despite the good reviews it was bad",
    "rarely good, seldom bad",
    "uh-uh not good",
    "good " * 300,
    ("the quick brown fox is happy but the lazy dog is sad! " * 200).strip(),
    "x" * 5000,
    "!" * 1000,
    "😁" * 500,
]


def random_soup(count, seed):
    rng = random.Random(seed)
    lexicon = sorted(ANALYZER.lexicon)
    emoji = sorted(ANALYZER.emojis)
    rule_words = (
        sorted(BOOSTER_DICT)
        + NEGATE
        + sorted(SPECIAL_CASES)
        + "but least at very no or nor never so this without doubt kind of sort the bomb shit "
        "yeah right kiss death to die for beating heart bus stop bad ass".split()
    )
    filler = "it is was the a and I you we they product service app update today".split()
    odd = ["\u212a", "\u0130", "Σ", "ς", "ǅ", "ß", "ﬁ", "é", "\u00a0", "\u2003", "\u200b",
           "\u001c", "\u0085", "\u3000", "\u0000", "\u007f", "İ", "ǈ", "Ω", "µ"]
    punct = list("!?.,;:'\"()[]{}-_*#@&%$^~`|\\/<>=+")
    separators = [" "] * 12 + ["  ", "\t", "\n", "\u00a0", "\u2003", "\u001f", "\r\n"]
    out = []
    for _ in range(count):
        n = rng.randint(1, 25)
        tokens = []
        for _ in range(n):
            r = rng.random()
            if r < 0.35:
                w = rng.choice(lexicon)
            elif r < 0.65:
                w = rng.choice(rule_words)
            elif r < 0.78:
                w = rng.choice(filler)
            elif r < 0.86:
                w = rng.choice(emoji)
            elif r < 0.92:
                w = "".join(rng.choice(odd + ["a", "b", "Z"]) for _ in range(rng.randint(1, 4)))
            else:
                w = "".join(rng.choice(punct) for _ in range(rng.randint(1, 3)))
            c = rng.random()
            if c < 0.15:
                w = w.upper()
            elif c < 0.22:
                w = w.title()
            if rng.random() < 0.15:
                w = rng.choice(punct) + w
            if rng.random() < 0.2:
                w = w + "".join(rng.choice(punct) for _ in range(rng.randint(1, 3)))
            tokens.append(w)
        text = ""
        for i, w in enumerate(tokens):
            if i:
                text += "" if rng.random() < 0.05 else rng.choice(separators)
            text += w
        if rng.random() < 0.3:
            text += rng.choice(["!", "!!", "!!!!!", "?", "??", "???", "?????", "!?", "."])
        out.append(text)
    return out


def main():
    assert vaderSentiment.__file__ and ANALYZER, "vaderSentiment is not importable"
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        WORKSPACE, "..", "shared", "data", "vader-groundtruth")
    for name, filename in CORPORA.items():
        rows = []
        for number, ident, text in read_corpus(os.path.join(source, filename)):
            compound, pos, neu, neg = score(text)
            rows.append(f"{number}\t{ident}\t{compound!r}\t{pos!r}\t{neu!r}\t{neg!r}\n")
        with open(os.path.join(HERE, f"{name}.tsv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("# line\tid\tcompound\tpos\tneu\tneg  (vaderSentiment 3.3.2; see make_vectors.py)\n")
            f.writelines(rows)
        print(f"{name}: {len(rows)} rows")
    texts = HAND_WRITTEN + random_soup(4000, seed=20140601)
    with open(os.path.join(HERE, "extra.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for text in texts:
            compound, pos, neu, neg = score(text)
            record = {"text": text, "compound": compound, "pos": pos, "neu": neu, "neg": neg}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"extra: {len(texts)} rows")


if __name__ == "__main__":
    main()
