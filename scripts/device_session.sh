#!/usr/bin/env bash
# One prepared command for a GPU machine lent for minutes (the device tool's `run`): the GPU work
# still open, in order of what it settles, each part bounded in time so the whole fits one call.
#   1. issue 29: benchmarks/gpu_check.py's attention, crossover, peers, train_throughput and
#      kernel_tests sections (report and JSON under $OUT/check; commit as benchmarks/gpu_check.md)
#   2. issue 30: a training slice of the structured-scenes denoiser record (RECORD; or issue 33's
#      gray record, below), stopped by SIGTERM at TRAIN_S seconds (it saves a checkpoint first);
#      its EMA weights come back in fp16 (13 MiB; $OUT takes 16 MiB a file) to start the next
#      slice from (`train.init_weights`)
#
# Prepare here, before the machine starts (no device time):
#   python scripts/pack_training_data.py data_prep/train data_prep/train_new --out .device_carry/train --budget-mib 15
#   cp -r data_prep/val_structured .device_carry/val_structured
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl spandrel==0.4.2 spandrel-extra-arches==0.2.0
# Then one call (carry .device_carry and .whl; timeout_s 560):
#   SEMANIR_COMMIT=<short hash> bash scripts/device_session.sh
# If device time is left, issue 33's gray slice as a second call (same carry; timeout_s 420):
#   CHECK_SECTIONS= RECORD=docs/training-records/shipped_denoise_gray_gpu.yaml TRAIN_S=330 bash scripts/device_session.sh
# A CPU-only machine runs it too: the check skips its GPU sections and the slice trains on the CPU.
set -u
: "${OUT:?set OUT to the folder whose files come back}"
CHECK_SECTIONS=${CHECK_SECTIONS-attention crossover peers train_throughput kernel_tests}
TRAIN_S=${TRAIN_S:-200}
RECORD=${RECORD:-docs/training-records/shipped_denoise_color_structured_gpu.yaml}
TRAIN_OVERRIDES=${TRAIN_OVERRIDES:-}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
exec > >(tee "$OUT/device_session.log") 2>&1

if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

if [ -n "$CHECK_SECTIONS" ]; then
    echo "== 1. gpu_check: $CHECK_SECTIONS"
    # shellcheck disable=SC2086
    python3 benchmarks/gpu_check.py --out "$OUT/check" --sections $CHECK_SECTIONS
    echo "gpu_check exit $?"
fi

echo "== 2. training slice: $RECORD for at most $TRAIN_S s"
# One folder per record: a second call on the same warm machine resumes its own run, never another's.
run=/tmp/semanir-slice-$(basename "$RECORD" .yaml)
# shellcheck disable=SC2086
timeout -s TERM "$TRAIN_S" python3 -m semanir train "$RECORD" "output_dir=$run" --no-progress $TRAIN_OVERRIDES
status=$?
echo "train exit $status (124 or 143: stopped by the time limit after a checkpoint)"
weights=$run/weights/final.safetensors
[ -f "$weights" ] || weights=$run/weights/last.safetensors
if [ "$status" != 0 ] && [ "$status" != 124 ] && [ "$status" != 143 ]; then
    echo "the slice failed; no weights are brought back"
elif [ -f "$weights" ]; then
    python3 scripts/reencode_presets.py fp16 "$weights" --out "$OUT"
    cp "$run/train_log.csv" "$run/val_log.csv" "$OUT/" 2>/dev/null
    ls -l "$OUT"
else
    echo "no weights were written (the slice stopped before its first checkpoint)"
fi
