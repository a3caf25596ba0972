# c10d (Gloo/NCCL) for multi-process inference (issue 7). Nothing yet.
