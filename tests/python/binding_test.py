"""The Python binding (python/osp) against the shipped default model, under Debian's python3.
   OSP_LIBRARY=build/libosp.so python3 tests/python/binding_test.py MODEL_DIR OUT_DIR
Checks: models load once for many requests; frames in memory equal the file the engine writes;
progress comes in stage order with monotone steps; cancellation from another thread and an
exception in a callback both stop a request and leave the pipeline usable; bad input raises
osp.OspError with its category; without NumPy the frames come back as bytes."""
import json
import os
import pathlib
import struct
import subprocess
import sys
import threading
import unittest

SOURCE = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE / "python"))
import numpy  # noqa: E402

import osp  # noqa: E402

MODEL, OUT = None, None
FAST = dict(steps=4, seed=11)  # a short request: the tests check behaviour, not quality


def read_safetensors(path):
    """name → (dtype, shape, raw bytes), parsed here so that the check does not use the engine."""
    data = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    return {name: (entry["dtype"], entry["shape"], body[entry["data_offsets"][0]:entry["data_offsets"][1]])
            for name, entry in header.items() if name != "__metadata__"}


class BindingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pipe = osp.Pipeline.from_pretrained(MODEL)

    @classmethod
    def tearDownClass(cls):
        cls.pipe.close()

    def test_version(self):
        self.assertEqual(osp.version(), "0.1.0")

    def test_requests_reuse_the_loaded_models_and_repeat_exactly(self):
        loads = self.pipe.component_loads
        self.assertEqual(loads, 3)
        first = self.pipe.generate("a red circle moving right on a black background", **FAST)
        second = self.pipe.generate("a red circle moving right on a black background", **FAST)
        self.assertEqual(self.pipe.component_loads, loads)
        self.assertIsInstance(first.frames, numpy.ndarray)
        self.assertEqual(first.frames.dtype, numpy.uint8)
        p = first.parameters
        self.assertEqual(first.frames.shape, (p["frames"], p["height"], p["width"], 3))
        self.assertEqual(p["steps"], 4)
        self.assertEqual(first.seed, 11)
        self.assertTrue(numpy.array_equal(first.frames, second.frames))
        self.assertGreater(int(first.frames.max()), int(first.frames.min()))  # not a blank video
        other = self.pipe.generate("a red circle moving right on a black background", steps=4, seed=12)
        self.assertFalse(numpy.array_equal(first.frames, other.frames))

    def test_step_cache_changes_the_video_only_when_it_skips(self):
        plain = self.pipe.generate("a red circle", **FAST)
        self.assertTrue(numpy.array_equal(self.pipe.generate("a red circle", step_cache=1e-12, **FAST).frames,
                                          plain.frames))
        self.assertFalse(numpy.array_equal(self.pipe.generate("a red circle", step_cache=1000, **FAST).frames,
                                           plain.frames))
        with self.assertRaises(osp.OspError):
            self.pipe.generate("a red circle", step_cache=-1, **FAST)

    def test_frames_in_memory_equal_the_written_file(self):
        video = self.pipe.generate("a blue square moving up on a white background", **FAST)
        path = pathlib.Path(OUT) / "python_frames.safetensors"
        video.write(path)
        dtype, shape, raw = read_safetensors(path)["frames"]
        self.assertEqual((dtype, shape), ("F32", [3, *video.frames.shape[:3]]))
        written = numpy.frombuffer(raw, numpy.float32).reshape(shape)
        back = numpy.rint((written.transpose(1, 2, 3, 0) + 1.0) * 127.5).astype(numpy.uint8)
        self.assertTrue(numpy.array_equal(back, video.frames))
        mp4 = pathlib.Path(OUT) / "python.mp4"
        video.write(mp4)
        self.assertGreater(mp4.stat().st_size, 0)

    def test_progress_comes_in_stage_order_with_monotone_steps(self):
        events = []
        self.pipe.generate("a green triangle growing on a black background",
                           progress=lambda *e: events.append(e), **FAST)
        stages = [e[0] for e in events]
        self.assertEqual(sorted(set(stages), key=stages.index), ["text", "sampling", "decode"])
        self.assertEqual(stages, sorted(stages, key=["text", "sampling", "decode"].index))
        for stage in ("text", "sampling", "decode"):
            steps = [(s, t) for name, s, t, _ in events if name == stage]
            self.assertEqual([s for s, _ in steps], list(range(1, len(steps) + 1)))
            self.assertEqual(steps[-1][0], steps[-1][1])
        self.assertEqual(len([e for e in events if e[0] == "sampling"]), 4)
        elapsed = [e[3] for e in events]
        self.assertEqual(elapsed, sorted(elapsed))

    def test_cancel_from_another_thread_stops_the_request(self):
        cancel = osp.Cancel()
        sampling = []

        def on_progress(stage, step, total, elapsed):
            if stage == "sampling":
                sampling.append(step)
                if step == 1:  # cancel from another thread, as a user's UI would
                    worker = threading.Thread(target=cancel.set)
                    worker.start()
                    worker.join()

        with self.assertRaises(osp.Cancelled) as raised:
            self.pipe.generate("a white diamond moving left on a red background", steps=20, seed=3,
                               progress=on_progress, cancel=cancel)
        self.assertEqual(raised.exception.category, "cancelled")
        self.assertLessEqual(len(sampling), 2)  # stopped at the next step
        self.assertTrue(cancel.is_set())
        # A set Cancel stops a request before its first step; the pipeline serves the next request.
        with self.assertRaises(osp.Cancelled):
            self.pipe.generate("a red circle", cancel=cancel, **FAST)
        self.assertEqual(self.pipe.generate("a red circle", **FAST).frames.ndim, 4)

    def test_an_exception_in_the_progress_callback_cancels_and_is_raised(self):
        seen = []

        def failing(stage, step, total, elapsed):
            seen.append(stage)
            if stage == "sampling":
                raise ValueError("stop here")

        with self.assertRaisesRegex(ValueError, "stop here"):
            self.pipe.generate("a red circle", steps=20, seed=1, progress=failing)
        self.assertLessEqual(seen.count("sampling"), 2)
        self.assertEqual(self.pipe.generate("a red circle", **FAST).frames.ndim, 4)

    def category(self, call):
        """The category and message of the osp.OspError that call() must raise."""
        with self.assertRaises(osp.OspError) as raised:
            call()
        return raised.exception.category, raised.exception.message

    def test_bad_input_raises_with_its_category(self):
        category = self.category
        gen = self.pipe.generate
        self.assertEqual(category(lambda: gen("a red circle", width=0))[0], "bad_input")
        self.assertEqual(category(lambda: gen("a red circle", height=-3))[0], "bad_input")
        self.assertEqual(category(lambda: gen("a red circle", frames=2.5))[0], "bad_input")
        self.assertEqual(category(lambda: gen("a red circle", seed=-1))[0], "bad_input")
        self.assertEqual(category(lambda: gen(None))[0], "bad_input")
        status, message = category(lambda: gen("a red circle", sampler="heun", steps=2))
        self.assertEqual(status, "bad_input")
        self.assertIn("heun", message)
        self.assertEqual(category(lambda: gen("a red \udc80 circle", steps=2))[0], "bad_input")
        self.assertEqual(category(lambda: gen(b"a red \xff circle", steps=2))[0], "bad_input")
        self.assertEqual(category(lambda: gen("a red circle", steps=2, loras=[str(OUT) + "/none.safetensors"]))[0],
                         "bad_file")
        missing = category(lambda: osp.Pipeline.from_pretrained(pathlib.Path(OUT) / "no-such-model"))
        self.assertEqual(missing[0], "bad_file")
        self.assertIn("no-such-model", missing[1])
        self.assertEqual(category(lambda: osp.Pipeline.from_pretrained(MODEL, precision="fp13"))[0], "bad_input")
        self.assertEqual(category(lambda: osp.Pipeline.from_pretrained(MODEL, threads=-1))[0], "bad_input")
        closed = osp.Pipeline(None)
        self.assertEqual(category(lambda: closed.generate("a red circle"))[0], "bad_input")
        self.assertEqual(self.pipe.generate("a red circle", **FAST).frames.ndim, 4)

    def test_component_paths_load_what_the_folder_names(self):
        folder = pathlib.Path(MODEL)
        parts = dict(dit=folder / "dit", dit_config=folder / "dit/config.json", text_encoder=folder / "text_encoder",
                     text_encoder_config=folder / "text_encoder/config.json", tokenizer=folder / "tokenizer",
                     vae=folder / "vae", vae_config=folder / "vae/config.json")
        # Loose parts carry no bundle defaults: give the request every one the folder's bundle sets
        # (guidance 1: the bundle's empty negative prompt, which a request cannot set, is not read).
        request = dict(FAST, width=64, height=64, frames=17, shift=5.0, guidance=1.0, sampler="unipc")
        with osp.Pipeline.from_pretrained("", **parts) as by_parts:
            a = by_parts.generate("a red circle", **request)
        b = self.pipe.generate("a red circle", **request)
        self.assertEqual(bytes(a.frames), bytes(b.frames))
        category = self.category
        self.assertEqual(category(lambda: osp.Pipeline.from_pretrained(MODEL, vea=folder / "vae"))[0], "bad_input")
        self.assertEqual(category(lambda: osp.Pipeline.from_pretrained("", dit=folder / "dit"))[0], "bad_file")
        missing = category(lambda: osp.Pipeline.from_pretrained(MODEL, loras=[str(OUT) + "/none.safetensors"]))
        self.assertEqual(missing[0], "bad_file")
        self.assertIn("none.safetensors", missing[1])
        self.assertEqual(category(lambda: osp.Pipeline.from_pretrained(MODEL, lora_mode="fused"))[0], "bad_input")

    def test_log_messages_reach_a_python_function(self):
        lines = []
        osp.set_log_callback(lambda level, message: lines.append((level, message)), "info")
        try:
            with osp.Pipeline.from_pretrained(MODEL, per_stage=True) as pipe:
                pipe.generate("a red circle", **FAST)
        finally:
            osp.set_log_callback(None)
        self.assertTrue(lines)
        self.assertTrue(all(level in ("info", "warning", "error") for level, _ in lines))
        with self.assertRaises(osp.OspError):
            osp.set_log_callback(print, "loud")

    def test_without_numpy_frames_are_bytes(self):
        script = ("import sys; sys.modules['numpy'] = None; sys.path.insert(0, sys.argv[1]); import osp\n"
                  "v = osp.Pipeline.from_pretrained(sys.argv[2]).generate('a red circle', steps=2, seed=1)\n"
                  "f, h, w, c = v.shape\n"
                  "assert isinstance(v.frames, bytes) and len(v.frames) == f * h * w * c, type(v.frames)\n"
                  "print('bytes', len(v.frames))\n")
        result = subprocess.run([sys.executable, "-c", script, str(SOURCE / "python"), MODEL],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertIn("bytes", result.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: binding_test.py MODEL_DIR OUT_DIR [unittest arguments]")
    MODEL, OUT = sys.argv[1], sys.argv[2]
    os.makedirs(OUT, exist_ok=True)
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])
