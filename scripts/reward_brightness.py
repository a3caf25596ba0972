#!/usr/bin/python3
"""An example reward scorer for `osp rl` (the command protocol of docs/rl-rewards.md).

Reads one JSON request per line on stdin and writes one JSON response per line on stdout:
the reward is the mean brightness of the video in [0, 1], computed from the raw uint8 RGB frames
("frames_raw": T*H*W*3 bytes, no header), so no video decoder is needed. Standard library only.

    osp rl ... --reward 'command: /usr/bin/python3 scripts/reward_brightness.py'

Flags that make it misbehave, for the tests of the engine's failure handling:
    --crash-after N   answer N requests, then exit with status 3 on the next one
    --garbage         answer a line that is not JSON
    --nan             answer a NaN reward (Python writes NaN, which is not valid JSON)
    --huge            answer a reward of 1e999 (valid JSON syntax, but not a finite double)
    --wrong-id        answer with an id that is not the request's
    --hang            read the request, then never answer
Messages go to stderr, which the engine passes through to its own.
"""
import argparse
import json
import sys
import time


def mean_brightness(request):
    """The mean of all bytes of the raw frames, / 255."""
    expected = request["frames"] * request["height"] * request["width"] * 3
    with open(request["frames_raw"], "rb") as raw:
        data = raw.read()
    if len(data) != expected:
        raise ValueError(f"{request['frames_raw']}: {len(data)} bytes, expected {expected}")
    return sum(data) / (255.0 * len(data))


def response_text(request, args):
    """The response line (no newline) for one request, misbehaving as the flags say."""
    if args.garbage:
        return "this is not JSON"
    if args.hang:
        while True:
            time.sleep(3600)
    brightness = mean_brightness(request)
    reward = float("nan") if args.nan else brightness
    request_id = request["id"] + 1 if args.wrong_id else request["id"]
    text = json.dumps({"id": request_id, "reward": reward, "terms": {"brightness": brightness}})
    return text.replace(json.dumps(reward), "1e999", 1) if args.huge else text


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crash-after", type=int, default=-1, metavar="N")
    for flag in ("--garbage", "--nan", "--huge", "--wrong-id", "--hang"):
        parser.add_argument(flag, action="store_true")
    return parser.parse_args(argv)


def main():
    args = parse_args(sys.argv[1:])
    answered = 0
    for line in sys.stdin:
        if answered == args.crash_after:
            print("reward_brightness: crashing as asked (--crash-after)", file=sys.stderr)
            sys.exit(3)
        sys.stdout.write(response_text(json.loads(line), args) + "\n")
        sys.stdout.flush()
        answered += 1


if __name__ == "__main__":
    main()
