"""Runs the Python blocks of a Markdown notebook in order, in one namespace, against an output
folder, so that the documented snippets cannot rot.

    python run_notebook.py docs/notebook.md OUT_DIR

The block that sets `OUT = ...` is replaced by OUT_DIR. A snippet that prints must print; the
last block's accuracy must equal the report's (it prints both; this checks them).
"""
import contextlib
import io
import re
import sys

md, out = sys.argv[1], sys.argv[2]
blocks = re.findall(r"```python\n(.*?)```", open(md, encoding="utf-8").read(), re.S)
assert len(blocks) >= 6, len(blocks)
ns = {}
for i, code in enumerate(blocks):
    code = re.sub(r'^OUT = ".*"$', f"OUT = {out!r}", code, flags=re.M)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, f"{md} block {i + 1}", "exec"), ns)
    text = buf.getvalue()
    sys.stdout.write(text)
    assert "OUT =" in code or text.strip(), f"block {i + 1} printed nothing"
m = re.search(r"centroid accuracy ([0-9.]+); leadcrawl says ([0-9.]+)", text)
assert m, text
assert abs(float(m.group(1)) - float(m.group(2))) < 1e-4, m.groups()
print("notebook ok:", len(blocks), "blocks")
