#!/usr/bin/env python3
"""Times Python vaderSentiment 3.3.2 on the same texts as benches/throughput.rs.

    python3 crates/sentiment/benches/python_reference.py [GROUNDTRUTH_DIR]

Prints texts/second for the tweets corpus and for all four corpora (best of 3 runs).
"""
import os
import sys
import time

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "vader-groundtruth")
FILES = ["tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt",
         "amazonReviewSnippets_GroundTruth.txt", "nytEditorialSnippets_GroundTruth.txt"]


def corpus(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    return [line.rstrip("\r").split("\t", 2)[2] for line in lines if line.rstrip("\r")]


def rate(analyzer, texts, runs=3):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for text in texts:
            analyzer.polarity_scores(text)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    analyzer = SentimentIntensityAnalyzer()
    tweets = corpus(directory, FILES[0])
    every = [text for name in FILES for text in corpus(directory, name)]
    print(f"python {sys.version.split()[0]} vaderSentiment 3.3.2")
    print(f"tweets: {len(tweets)} texts, {rate(analyzer, tweets):,.0f} texts/s")
    print(f"all:    {len(every)} texts, {rate(analyzer, every):,.0f} texts/s")


if __name__ == "__main__":
    main()
