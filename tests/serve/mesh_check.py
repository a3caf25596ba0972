#!/usr/bin/env python3
"""`osp serve` over two processes (docs/serve.md "One model over several processes").

Starts two ranks with the launcher's variables and `--ssp 2`; rank 0 serves HTTP. Checks that the
followers survive an idle queue longer than the collective timeout (the leader's keep-alives),
that a job runs to done and downloads, that cancelling a running job stops it on every rank (the
next job still runs), and that SIGTERM to rank 0 stops both ranks with exit code 0.
Usage: mesh_check.py OSP_BINARY MODEL_DIR OUT_DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

TIMEOUT_S = 10  # the ranks' collective timeout (OSP_DIST_TIMEOUT): the idle wait below outlasts it


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(message, out):
    for r in (0, 1):
        log = os.path.join(out, f"rank{r}.log")
        if os.path.exists(log):
            sys.stderr.write(f"--- rank {r} log ---\n" + open(log).read())
    sys.exit(f"FAIL: {message}")


def main():
    osp, model, out = sys.argv[1:4]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    http, master = free_port(), free_port()
    ranks = []
    for r in (0, 1):
        env = dict(os.environ, RANK=str(r), WORLD_SIZE="2", LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(master), OSP_DIST_TIMEOUT=str(TIMEOUT_S))
        log = open(os.path.join(out, f"rank{r}.log"), "w")
        ranks.append(subprocess.Popen([osp, "--threads", "1", "serve", "--model", model, "--port", str(http),
                                       "--output-dir", os.path.join(out, "videos"), "--ssp", "2"],
                                      env=env, stdout=log, stderr=subprocess.STDOUT))
    base = f"http://127.0.0.1:{http}"

    def call(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            return json.loads(payload) if response.headers.get("Content-Type", "").startswith("application/json") else payload

    def wait_for(job_id, states, deadline_s=120, predicate=None):
        end = time.time() + deadline_s
        while time.time() < end:
            job = call("GET", f"/v1/videos/{job_id}")
            if job["status"] in states and (predicate is None or predicate(job)):
                return job
            if any(p.poll() is not None for p in ranks):
                fail(f"a rank exited while job {job_id} was {job['status']}", out)
            time.sleep(0.1)
        fail(f"job {job_id} never reached {states}", out)

    try:
        for _ in range(600):
            try:
                if call("GET", "/health")["status"] == "ready":
                    break
            except OSError:
                pass
            if any(p.poll() is not None for p in ranks):
                fail("a rank exited while loading", out)
            time.sleep(0.2)
        else:
            fail("the server never became ready", out)

        time.sleep(TIMEOUT_S * 1.5)  # idle for longer than a follower could wait without keep-alives
        small = {"prompt": "a red circle moving left on a black background", "frames": 5, "steps": 3, "seed": 7}
        job = wait_for(call("POST", "/v1/videos", small)["id"], {"done", "failed", "cancelled"})
        if job["status"] != "done":
            fail(f"the first job ended {job['status']}: {job.get('error')}", out)
        video = call("GET", f"/v1/videos/{job['id']}/content")
        if len(video) < 100:
            fail(f"the video has {len(video)} bytes", out)

        long_job = dict(small, steps=60, seed=8)
        job_id = call("POST", "/v1/videos", long_job)["id"]
        wait_for(job_id, {"running"}, predicate=lambda j: j.get("stage") == "sampling" and j.get("step", 0) >= 1)
        call("DELETE", f"/v1/videos/{job_id}")
        job = wait_for(job_id, {"done", "failed", "cancelled"})
        if job["status"] != "cancelled" or job["step"] >= 60:
            fail(f"the cancelled job ended {job['status']} at step {job['step']}: {job.get('error')}", out)

        job = wait_for(call("POST", "/v1/videos", dict(small, seed=9))["id"], {"done", "failed", "cancelled"})
        if job["status"] != "done":
            fail(f"the job after the cancel ended {job['status']}: {job.get('error')}", out)

        ranks[0].send_signal(signal.SIGTERM)
        for r, p in enumerate(ranks):
            try:
                code = p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                fail(f"rank {r} did not stop after SIGTERM to rank 0", out)
            if code != 0:
                fail(f"rank {r} exited with {code}", out)
        if "stopped by rank 0" not in open(os.path.join(out, "rank1.log")).read():
            fail("rank 1 did not report rank 0's stop", out)
        print("two-rank server: idle keep-alive, job done, running job cancelled on both ranks, clean stop")
    finally:
        for p in ranks:
            if p.poll() is None:
                p.kill()


if __name__ == "__main__":
    main()
