#!/usr/bin/env bash
# Reproduces models/osp-next-tiny from nothing but this checkout, on CPU: the Shapes data, the VAE
# (two stages), the frozen text encoder and tokenizer, the latent/text cache, the DiT, the bundle
# and its evaluations. Run from the repository root after scripts/build.sh; the steps and their
# wall times are in models/osp-next-tiny/README.md. OSP=path/to/osp overrides the binary.
#   DIT_STEP   DiT checkpoint that ships (default: the newest)
set -euo pipefail
OSP=${OSP:-build/osp}

# Data: 6000 training clips (seed 7); sets for judging VAEs with seeds training never used —
# 40 clips (seed 777) and 200 clips (seed 778) to choose checkpoints, 200 to report (seed 12345).
"$OSP" data shapes --out data/shapes --count 6000 --seed 7
"$OSP" data shapes --out data/shapes-vae-val --count 40 --seed 777 --split all
"$OSP" data shapes --out data/shapes-vae-sel --count 200 --seed 778 --split all
"$OSP" data shapes --out data/shapes-vae-heldout --count 200 --seed 12345 --split all

# VAE stage 1: encoder and decoder on 9-frame 32×32 windows. Stage 2: the same on 17-frame
# windows (the length generation decodes). Stage 2 ships, and its encoder makes the DiT's latents.
# It is judged on clips no training saw: 40 (seed 777) and 200 (seed 778) to accept it, 200
# (seed 12345) to report.
"$OSP" train --config configs/train/tiny-vae.yaml
"$OSP" train --config configs/train/tiny-vae-17.yaml
VAE=runs/tiny-vae-17/checkpoints/step-00001000
"$OSP" eval vae --vae "$VAE/model.safetensors" --vae-config "$VAE/config.json" --manifest data/shapes-vae-val/manifest.jsonl --out runs/eval-vae-val
"$OSP" eval vae --vae "$VAE/model.safetensors" --vae-config "$VAE/config.json" --manifest data/shapes-vae-sel/manifest.jsonl --out runs/eval-vae-sel
"$OSP" eval vae --vae "$VAE/model.safetensors" --vae-config "$VAE/config.json" --manifest data/shapes-vae-heldout/manifest.jsonl --out runs/eval-vae-heldout

# The frozen text encoder (random umT5 weights, seed 0, with the word-order prior) and the Shapes
# tokenizer: the same files the final bundle holds, so the cached embeddings are the ones
# generation computes.
"$OSP" init-bundle --out runs/tiny-init --captions shapes --seed 0 --force
"$OSP" data cache --manifest data/shapes/manifest.jsonl --vae "$VAE/model.safetensors" --vae-config "$VAE/config.json" \
  --text-encoder runs/tiny-init/text_encoder --tokenizer runs/tiny-init/tokenizer --out data/tiny-cache --size 64 \
  --frames 17 --buckets 1:1

# The DiT on every cached clip; checkpoints are chosen on the validation prompts (train-split
# captions outside the report sample), never on the held-out ones.
"$OSP" train --config configs/train/tiny-dit.yaml
DIT=${DIT_STEP:+runs/tiny-dit/checkpoints/step-$(printf %08d "$DIT_STEP")}
DIT=${DIT:-$(ls -d runs/tiny-dit/checkpoints/step-* | tail -n 1)}
"$OSP" init-bundle --out models/osp-next-tiny --captions shapes --seed 0 --dit "$DIT" --vae "$VAE" --force
# The latent preview map of the library's preview callback (docs/vae.md "Latent preview").
"$OSP" vae-preview-fit --vae models/osp-next-tiny/vae --config models/osp-next-tiny/vae/config.json \
  --manifest data/shapes/manifest.jsonl --count 200
"$OSP" eval shapes --model models/osp-next-tiny --prompts configs/rl/shapes-validation.txt --seed 5000 --out runs/eval-validation
"$OSP" eval shapes --model models/osp-next-tiny --prompts configs/eval/shapes-heldout.txt --out runs/eval-heldout
"$OSP" eval shapes --model models/osp-next-tiny --prompts configs/rl/shapes-train-sample.txt --seed 9000 --out runs/eval-train-sample
# The card shows the held-out videos' contact sheet.
cp runs/eval-heldout/contact_sheet.png models/osp-next-tiny/heldout_contact_sheet.png
