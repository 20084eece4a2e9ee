#!/usr/bin/env python3
"""The reference process `earful score --format json` is measured against: Python
vaderSentiment 3.3.2 scoring each line of stdin and printing one JSON object per line.

    python3 crates/sentiment/benches/python_score.py < FILE > OUT

(`pip install vaderSentiment==3.3.2`; see BENCHMARKS.md, "earful score".)
"""
import json
import sys

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


def main():
    analyzer = SentimentIntensityAnalyzer()
    out = sys.stdout
    for line in sys.stdin:
        scores = analyzer.polarity_scores(line.rstrip("\r\n"))
        out.write(json.dumps(scores))
        out.write("\n")


if __name__ == "__main__":
    main()
