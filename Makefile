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

.PHONY: run test test-slow lint build bench venv clean default-model

run: build
	target/release/gatescope play --checkpoint $(CHECKPOINT)

build: $(STAMP)
	cargo build --release

test: $(STAMP)
	cargo build --release
	cargo test --release -- --test-threads=2

# Tests too slow for every run (the shipped model's README figures).
test-slow: $(STAMP)
	cargo test --release -- --ignored --test-threads=1

lint:
	cargo fmt --check

bench: build
	$(VENV)/bin/python bench/bench.py --data $(DATA)

# The shipped model's recipe (README, "The shipped model"): about an hour on
# two CPU cores. It writes runs/; copy the result to assets/ to ship it.
default-model: build
	mkdir -p runs
	target/release/gatescope train --data $(DATA) --out runs/default.safetensors \
	  --layers 2 --hidden 512 --embed 64 --batch 64 --seq 100 --dropout 0.35 \
	  --weight-decay 0.1 --lr 3e-3 --warmup 100 --steps 5000 \
	  --eval-every 250 --checkpoint-every 250 --seed 1 --threads 2

venv: $(STAMP)

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install $(TORCH_PIN)
	touch $@

clean:
	cargo clean
	rm -rf $(VENV)
