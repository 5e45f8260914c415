# gatescope: `make run` and `make test` set everything up on a fresh clone.
# libtorch comes from the pinned PyTorch wheel in a project-local .venv;
# users with their own libtorch can run `LIBTORCH=/path/to/libtorch cargo build`.

PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed-torch-2.13.0
TORCH_PIN := torch==2.13.0 numpy safetensors

export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1

CHECKPOINT ?= assets/default.safetensors
DATA ?= data/tinyshakespeare.txt

.PHONY: run test test-slow test-figures lint build bench figures venv clean default-model default-replay shakespeare-2x512-dropout shakespeare-3x512 python-model replay-demo

run: build
	target/release/gatescope play --checkpoint $(CHECKPOINT)

build: $(STAMP)
	cargo build --release

# `cargo test` builds the binary the tests run as well as the tests, in one
# build: the tests' own dependencies turn on features of shared crates, so a
# separate `cargo build` first would compile gatescope and libtorch's
# bindings twice.
test: $(STAMP)
	cargo test --release -- --test-threads=2

# Tests too slow for every run: the shipped models' documented figures, the
# long run's flat memory, the cells panel over 2,000 steps of the shipped model.
test-slow: $(STAMP)
	cargo test --release -- --ignored --test-threads=1

# The part of test-slow that CI runs: the shipped models' documented figures
# (losses by gatescope and by PyTorch, the code model's stored catalogue).
test-figures: $(STAMP)
	cargo test --release -- --ignored --test-threads=1 shipped_model

lint: $(STAMP)
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings
	$(VENV)/bin/python tools/module_cycles.py

bench: build
	$(VENV)/bin/python bench/bench.py --data $(DATA)

# The README's default-model figures, measured for CHECKPOINT (a candidate
# default, say) into runs/figures.
figures: build
	$(VENV)/bin/python bench/readme_figures.py $(CHECKPOINT) runs/figures

# The models' recipes (README, "The shipped models"). Each trains into runs/
# (about an hour or more on two CPU cores); copy the result to assets/ to
# ship it. THREADS=1 leaves a core for other work.
THREADS ?= 2

# The shipped default: 2x512 with weight drop, stored in f16, its catalogue
# measured on the validation split with the three named units pinned.
default-model: build runs/tinyshakespeare-validation.txt
	target/release/gatescope train --data $(DATA) --out runs/default-f32.safetensors \
	  --layers 2 --hidden 512 --embed 64 --batch 64 --seq 100 --dropout 0.3 --weight-drop 0.4 \
	  --weight-decay 0.1 --lr 3e-3 --warmup 100 --steps 7000 \
	  --eval-every 250 --checkpoint-every 100 --seed 1 --threads $(THREADS)
	target/release/gatescope convert runs/default-f32.safetensors --dtype f16 --out runs/default.safetensors
	target/release/gatescope cells -c runs/default.safetensors --data runs/tinyshakespeare-validation.txt \
	  --save --pin speaker_line,line_position,in_word
	target/release/gatescope eval -c runs/default.safetensors --data $(DATA)

# The README's replay figure: the default's recipe again, with a snapshot
# (f16) every 100 steps, replayed for the line-position and speaker-line
# features over the validation text's first 20,000 characters. The
# snapshots (about 460 MB) stay in runs/; the figure is docs/replay-default.svg.
default-replay: build runs/tinyshakespeare-validation.txt
	target/release/gatescope train --data $(DATA) --out runs/default-replay.safetensors \
	  --layers 2 --hidden 512 --embed 64 --batch 64 --seq 100 --dropout 0.3 --weight-drop 0.4 \
	  --weight-decay 0.1 --lr 3e-3 --warmup 100 --steps 7000 \
	  --eval-every 250 --checkpoint-every 100 --seed 1 --threads $(THREADS) \
	  --snapshot-every 100 --snapshot-dtype f16
	target/release/gatescope replay runs/default-replay.snapshots --data runs/tinyshakespeare-validation.txt \
	  --feature line_position,speaker_line --svg docs/replay-default.svg

# The validation split (nanoGPT's: the last 10% of the characters) as a file.
runs/tinyshakespeare-validation.txt: $(STAMP)
	mkdir -p runs
	$(VENV)/bin/python -c "import sys; t = open(sys.argv[1], encoding='utf-8', newline='').read(); \
	  open(sys.argv[2], 'w', encoding='utf-8', newline='').write(t[int(len(t) * 0.9):])" $(DATA) $@

# The previous default (README's ablation): 2x512, dropout 0.35, no weight drop.
shakespeare-2x512-dropout: build
	mkdir -p runs
	target/release/gatescope train --data $(DATA) --out runs/shakespeare-2x512-dropout.safetensors \
	  --layers 2 --hidden 512 --embed 64 --batch 64 --seq 100 --dropout 0.35 \
	  --weight-decay 0.1 --lr 3e-3 --warmup 100 --steps 5000 \
	  --eval-every 250 --checkpoint-every 250 --seed 1 --threads $(THREADS)

# The second Shakespeare recipe (README's ablation): 3 layers, weight drop.
shakespeare-3x512: build
	mkdir -p runs
	target/release/gatescope train --data $(DATA) --out runs/shakespeare-3x512.safetensors \
	  --layers 3 --hidden 512 --embed 64 --batch 64 --seq 100 --dropout 0.3 --weight-drop 0.4 \
	  --weight-decay 0.1 --lr 3e-3 --warmup 100 --steps 7000 \
	  --eval-every 250 --checkpoint-every 100 --seed 1 --threads $(THREADS)
	target/release/gatescope convert runs/shakespeare-3x512.safetensors --dtype f16 \
	  --out runs/shakespeare-3x512-f16.safetensors
	target/release/gatescope eval -c runs/shakespeare-3x512-f16.safetensors --data $(DATA)

# Watch cells form: a 2x256 model trained for about 15 minutes on two cores
# with a snapshot every 100 steps, replayed for the line-position and
# speaker-line features (runs/replay-demo.svg), then opened in the
# playground's timeline. The snapshots are kept: run it again to reopen them
# (remove runs/replay-demo.snapshots to train anew). DEMO_STEPS and
# DEMO_EVERY shorten it.
DEMO_STEPS ?= 4000
DEMO_EVERY ?= 100

replay-demo: runs/replay-demo.snapshots runs/tinyshakespeare-validation.txt
	target/release/gatescope replay runs/replay-demo.snapshots --data runs/tinyshakespeare-validation.txt \
	  --feature line_position,speaker_line --svg runs/replay-demo.svg
	target/release/gatescope play --replay runs/replay-demo.snapshots

runs/replay-demo.snapshots: | build
	mkdir -p runs
	target/release/gatescope train --data $(DATA) --out runs/replay-demo.safetensors \
	  --layers 2 --hidden 256 --embed 64 --batch 64 --seq 100 --dropout 0.2 \
	  --lr 3e-3 --warmup 100 --steps $(DEMO_STEPS) --eval-every 250 --checkpoint-every 250 \
	  --snapshot-every $(DEMO_EVERY) --snapshot-dtype f16 --seed 1 --threads $(THREADS)

# The code model's corpus, as committed (needs CPython 3.11.7 for the same bytes).
data/python-stdlib.txt:
	$(PYTHON) data/python_corpus.py $@

# A wider corpus for the code model (not committed): the standard library's,
# then twelve pinned PyPI sdists' Python source, fetched and checked by sha256.
data/python-varied.txt: data/python-stdlib.txt
	$(PYTHON) data/python_varied.py data/python-stdlib.txt $@

# Code it never saw: the start of eight modules of PyTorch's, from the pinned
# wheel in .venv. The code model's catalogue is measured over all eight
# (pooled), and tools/held_out.py measures it on each.
TORCH_DIR := $(VENV)/lib/python3.11/site-packages/torch
HELD_OUT := $(addprefix $(TORCH_DIR)/,nn/modules/rnn.py nn/modules/conv.py nn/modules/activation.py \
  nn/modules/loss.py optim/adam.py nn/functional.py serialization.py _tensor.py)
# The code model is trained in three stages: the standard library alone;
# then, from that run's latest state (Adam's moments included), the wider
# corpus with the cosine schedule stretched to 12,000 steps; then, from that
# run's end, the same stretched to 16,000. The third run's best validation
# is what is kept.

python-model: build data/python-varied.txt
	mkdir -p runs
	target/release/gatescope train --data data/python-stdlib.txt --out runs/python-stdlib-f32.safetensors \
	  --layers 3 --hidden 512 --embed 64 --batch 16 --seq 400 --dropout 0.1 --weight-drop 0.2 \
	  --weight-decay 0.1 --lr 3e-3 --warmup 100 --steps 6000 --stop-at 3752 \
	  --eval-every 250 --checkpoint-every 50 --seed 1 --threads $(THREADS)
	target/release/gatescope train --data data/python-varied.txt --out runs/python-varied-f32.safetensors \
	  --resume runs/python-stdlib-f32.last.safetensors --steps 12000 --val-frac 0.01 --threads $(THREADS)
	target/release/gatescope train --data data/python-varied.txt --out runs/python-f32.safetensors \
	  --resume runs/python-varied-f32.last.safetensors --steps 16000 --threads $(THREADS)
	target/release/gatescope convert runs/python-f32.safetensors --dtype f16 --out runs/python.safetensors
	target/release/gatescope cells -c runs/python.safetensors --data $(HELD_OUT) --save --pin bracket_depth,indent,in_string
	$(VENV)/bin/python tools/held_out.py runs/python.safetensors

venv: $(STAMP)

# The wheel and its CUDA libraries take about 4.7 GB in .venv; pip's cache
# would keep a second copy of the downloads (about 3.5 GB more), so it is
# off. libtorch's CUDA parts are unused but load with it, so they stay.
$(STAMP):
	@free=$$(df -Pk . | awk 'NR == 2 { print int($$4 / 1024) }'); \
	if [ "$$free" -lt 5000 ]; then \
	  echo "make: the PyTorch install needs about 7.4 GB free here and 4.7 GB after; $$free MB are free" >&2; exit 1; \
	elif [ "$$free" -lt 8000 ]; then \
	  echo "make: warning: $$free MB free here; the PyTorch install needs about 7.4 GB at its peak" >&2; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --no-cache-dir --upgrade pip
	$(VENV)/bin/pip install --no-cache-dir $(TORCH_PIN)
	touch $@

clean:
	cargo clean
	rm -rf $(VENV)
