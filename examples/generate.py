"""The Python binding in a few lines: load the default model once, generate with progress, write.
   python3 examples/generate.py MODEL_DIR OUT.mp4 ["PROMPT"]
The installed package (PYTHONPATH=<prefix>/lib/osp-next/python) or else this source tree's python/."""
import pathlib
import sys

try:
    import osp
except ImportError:  # not installed or on PYTHONPATH: this source tree's package
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python"))
    import osp


def main():
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} MODEL_DIR OUT.mp4 [PROMPT]")
    prompt = sys.argv[3] if len(sys.argv) > 3 else "a red circle moving right on a black background"
    try:
        pipe = osp.Pipeline.from_pretrained(sys.argv[1])
        video = pipe.generate(prompt, seed=7,
                              progress=lambda stage, step, total, elapsed:
                              print(f"{stage} {step}/{total} ({elapsed:.1f} s)", file=sys.stderr))
        video.write(sys.argv[2])
    except osp.OspError as error:
        sys.exit(f"error: {error}")
    frames, height, width, _ = video.shape
    print(f"{frames} frames of {width}x{height} at {video.fps:g} fps in {sys.argv[2]}")


if __name__ == "__main__":
    main()
