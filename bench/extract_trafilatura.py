#!/usr/bin/env python3
"""Python trafilatura (the reference extractor) over a folder of HTML pages, for
bench/extract.sh: writes {"<file stem>": {"articleBody": "..."}} like `leadcrawl extract-html`.

Settings: trafilatura.extract(raw bytes, include_comments=False), everything else default
(tables kept, precision/recall balanced): comments are not main text in any of the benchmarks.
Prints one JSON line with the time taken (one process, one thread).

usage: extract_trafilatura.py DIR OUT.json
"""

import gzip
import json
import os
import sys
import time

import trafilatura


def main():
    folder, out = sys.argv[1], sys.argv[2]
    pages = []
    for name in sorted(os.listdir(folder)):
        for ext in (".html.gz", ".html"):
            if name.endswith(ext):
                raw = open(os.path.join(folder, name), "rb").read()
                if raw[:2] == b"\x1f\x8b":
                    raw = gzip.decompress(raw)
                pages.append((name[: -len(ext)], raw))
                break
    result, slowest = {}, (0.0, "")
    start = time.perf_counter()
    for stem, raw in pages:
        t = time.perf_counter()
        try:
            text = trafilatura.extract(raw, include_comments=False) or ""
        except Exception:  # a page trafilatura cannot read scores 0, as an empty extraction
            text = ""
        slowest = max(slowest, (time.perf_counter() - t, stem))
        result[stem] = {"articleBody": text}
    took = time.perf_counter() - start
    json.dump(result, open(out, "w"))
    mb = sum(len(r) for _, r in pages) / 1e6
    print(json.dumps({
        "extractor": f"trafilatura {trafilatura.__version__}",
        "pages": len(pages),
        "seconds": round(took, 3),
        "mb_per_s": round(mb / took, 2),
        "pages_per_s": round(len(pages) / took),
        "slowest_page_ms": round(slowest[0] * 1000, 1),
        "slowest_page": slowest[1],
    }))


if __name__ == "__main__":
    main()
