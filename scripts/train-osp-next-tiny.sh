#!/usr/bin/env bash
# Reproduces models/osp-next-tiny (its card: models/osp-next-tiny/README.md) from nothing but this checkout, on CPU: the Shapes data,
# the VAE (four stages), the frozen text encoder and tokenizer, the latent/text cache, the DiT, the
# bundle and its evaluation. Run from the repository root after scripts/build.sh; the steps and
# their wall times are in models/osp-next-tiny/README.md. OSP=path/to/osp overrides the binary.
set -euo pipefail
OSP=${OSP:-build/osp}
CLIPS=${CLIPS:-1600}   # clips of the 6000 written that the DiT's cache holds

"$OSP" data shapes --out data/shapes --count 6000 --seed 7
"$OSP" train --config configs/train/tiny-vae.yaml
"$OSP" train --config configs/train/tiny-vae-stage2.yaml --resume runs/tiny-vae
# Stage 3: the decoder alone (frozen encoder), frame 0 weighted. The latent space is stage 2's, so
# the first cache below may use either checkpoint: their encoders and latent statistics are identical.
"$OSP" train --config configs/train/tiny-vae-decoder.yaml
# Stage 4: encoder and decoder, foreground pixels weighted, so the latents carry the object's colour.
"$OSP" train --config configs/train/tiny-vae-objects.yaml
# Stage 5: the decoder alone again, longer, so it draws the motion the stage-4 latents carry. The
# encoder is frozen, so stage 4's latents (and the cache below) stay valid for it.
"$OSP" train --config configs/train/tiny-vae-motion.yaml
VAE3=runs/tiny-vae-decoder/checkpoints/step-00000400
VAE4=runs/tiny-vae-objects/checkpoints/step-00000300
VAE=$(ls -d runs/tiny-vae-motion/checkpoints/step-* | tail -n 1)

# The frozen text encoder (random umT5 weights, seed 0, with the word-order prior) and the Shapes
# tokenizer: the same files the final bundle holds, so the cached embeddings are the ones
# generation computes.
"$OSP" init-bundle --out runs/tiny-init --captions shapes --seed 0 --force
head -n "$CLIPS" data/shapes/manifest.jsonl > data/shapes/manifest-dit.jsonl
cache() {  # cache VAE_CHECKPOINT OUT
  "$OSP" data cache --manifest data/shapes/manifest-dit.jsonl --vae "$1/model.safetensors" --vae-config "$1/config.json" \
    --text-encoder runs/tiny-init/text_encoder --tokenizer runs/tiny-init/tokenizer --out "$2" --size 64 --frames 17 \
    --buckets 1:1
}

# DiT stage 1 on the stage-3 latents (3000 steps), stage 2 fine-tuned on the stage-4 latents.
cache "$VAE3" data/tiny-cache
"$OSP" train --config configs/train/tiny-dit.yaml
cache "$VAE4" data/tiny-cache-objects
"$OSP" train --config configs/train/tiny-dit-objects.yaml
DIT=$(ls -d runs/tiny-dit-objects/checkpoints/step-* | tail -n 1)
"$OSP" init-bundle --out models/osp-next-tiny --captions shapes --seed 0 --dit "$DIT" --vae "$VAE" --force
"$OSP" eval shapes --model models/osp-next-tiny --prompts configs/eval/shapes-heldout.txt --out runs/eval-heldout
