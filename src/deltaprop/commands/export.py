"""``deltaprop export MODEL --format onnx|torch --out FILE``: a saved model as ONNX or for PyTorch.

Both files compute exactly the model's ``forward`` on inputs as the network sees them; the
model's input scaling travels with them (ONNX metadata_props "deltaprop.scaling"; the torch
file's "scaling" entry).
"""

from __future__ import annotations

import argparse

from ._common import stdout_console


def add_arguments(p: argparse.ArgumentParser) -> None:
    """MODEL, --format, --out, --dtype."""
    p.add_argument("model", metavar="MODEL", help="a model file written by deltaprop train --out")
    p.add_argument("--format", required=True, choices=["onnx", "torch"], metavar="FORMAT",
                   help="onnx (a graph of standard operators) or torch (a state_dict for nn.Sequential)")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--dtype", choices=["float32", "float64"], metavar="DTYPE",
                   help="ONNX only: float type of the graph, float32 or float64 (default: the model's)")


def run(args: argparse.Namespace) -> int:
    """Write the export and print one line saying what was written."""
    from ..export import to_onnx, to_torch
    from ..io import load
    from ._paths import check_outputs

    check_outputs([("MODEL", args.model)], {"--out": args.out}, {"--out": args.format})  # onnx or torch
    net = load(args.model)
    if args.format == "onnx":
        to_onnx(net, args.out, dtype=args.dtype)
        what = f"ONNX ({args.dtype or net.dtype.name}, opset 17; input 'input', output 'output')"
    else:
        if args.dtype is not None:
            raise ValueError("--dtype applies to --format onnx only; a torch export keeps the model's dtype")
        to_torch(net, args.out)
        what = "PyTorch (load with deltaprop.export.torch_module)"
    sizes = "-".join(map(str, net.sizes))
    stdout_console().print(f"wrote {args.out}: {sizes} network as {what}", markup=False, highlight=False)
    return 0
